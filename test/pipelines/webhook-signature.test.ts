/** GitHub's documented test vector and tampering cases. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { signWebhookBody, verifyWebhookSignature } from '../../src/pipelines/webhook-signature.js';

const SECRET = "It's a Secret to Everybody";
const VECTOR = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';

it('signs GitHub\'s test vector', () => {
  assert.equal(signWebhookBody(SECRET, 'Hello, World!'), VECTOR);
});

it('verifies the vector and refuses tampered bodies, other secrets and malformed headers', () => {
  const body = Buffer.from('Hello, World!');
  assert.equal(verifyWebhookSignature(SECRET, body, VECTOR), true);
  assert.equal(verifyWebhookSignature(SECRET, Buffer.from('Hello, World?'), VECTOR), false);
  assert.equal(verifyWebhookSignature('other', body, VECTOR), false);
  assert.equal(verifyWebhookSignature(SECRET, body, undefined), false);
  assert.equal(verifyWebhookSignature(SECRET, body, VECTOR.replace('sha256=', 'sha1=')), false);
  assert.equal(verifyWebhookSignature(SECRET, body, `${VECTOR.slice(0, -2)}`), false);
  assert.equal(verifyWebhookSignature(SECRET, body, VECTOR.toUpperCase().replace('SHA256=', 'sha256=')), true);
});
