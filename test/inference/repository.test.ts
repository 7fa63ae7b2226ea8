import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { assertSafeName, scanRepository } from '../../src/inference/repository.js';
import { ForjaError } from '../../src/errors.js';

/** Creates a repository from relative paths -> contents (model files can be any bytes: nothing loads them). */
function repo(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'forja-repo-'));
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), text);
  }
  return realpathSync(dir);
}

describe('scanRepository', () => {
  test('versions are sub-directories; the default is the highest numeric one', () => {
    const dir = repo({ 'mnist/1/model.onnx': 'x', 'mnist/2/model.onnx': 'x', 'mnist/10/model.onnx': 'x', 'mnist/notes/readme.txt': 'x' });
    const mnist = scanRepository(dir).get('mnist');
    assert.ok(mnist);
    assert.deepEqual(mnist.versions.map((v) => v.version), ['1', '2', '10']);
    assert.equal(mnist.defaultVersion, '10');
    assert.equal(mnist.versions[2].path, path.join(dir, 'mnist/10/model.onnx'));
    assert.equal(mnist.versions[2].format, 'onnx');
    assert.equal(mnist.problem, undefined);
  });

  test('default_version in model.yaml is honoured', () => {
    const dir = repo({ 'm/1/model.onnx': 'x', 'm/2/model.onnx': 'x', 'm/model.yaml': 'default_version: 1\nmax_batch_size: 8\n' });
    const m = scanRepository(dir).get('m');
    assert.equal(m?.defaultVersion, '1');
    assert.equal(m?.config.max_batch_size, 8);
    assert.equal(m?.versions[1].config.max_batch_size, 8, 'each version carries the model settings');
  });

  test('a bare DIR/<name>.onnx is version 1, and .gguf files are format gguf', () => {
    const dir = repo({ 'plain.onnx': 'x', 'tiny-llm.gguf': 'x', 'chat/3/model.gguf': 'x', 'ignored.txt': 'x' });
    const models = scanRepository(dir);
    assert.deepEqual([...models.keys()].sort(), ['chat', 'plain', 'tiny-llm']);
    assert.deepEqual(models.get('plain')?.versions.map((v) => [v.version, v.format, v.path]), [['1', 'onnx', path.join(dir, 'plain.onnx')]]);
    assert.equal(models.get('plain')?.defaultVersion, '1');
    assert.equal(models.get('tiny-llm')?.versions[0].format, 'gguf');
    assert.equal(models.get('chat')?.versions[0].format, 'gguf');
    assert.equal(models.get('chat')?.versions[0].version, '3');
  });

  test('an invalid model.yaml gives the model a problem naming the key; it stays listed', () => {
    const dir = repo({
      'unknown/1/model.onnx': 'x', 'unknown/model.yaml': 'max_batch_size: 4\nbogus_key: 1\n',
      'wrongtype/1/model.onnx': 'x', 'wrongtype/model.yaml': 'max_batch_size: lots\n',
      'nested/model.yaml': 'backend:\n  type: openai\n  shoe_size: 9\n',
    });
    const models = scanRepository(dir);
    assert.match(models.get('unknown')?.problem ?? '', /bogus_key/);
    assert.match(models.get('wrongtype')?.problem ?? '', /max_batch_size/);
    assert.match(models.get('nested')?.problem ?? '', /backend\.shoe_size/);
    assert.equal(models.get('unknown')?.versions.length, 1, 'the model is still listed with its versions');
  });

  test('a typo in model.yaml gets "did you mean", nested keys too', () => {
    const dir = repo({
      'typo/1/model.onnx': 'x', 'typo/model.yaml': 'max_batch_sise: 4\n',
      'nestedtypo/model.yaml': 'backend:\n  type: openai\n  ulr: http://127.0.0.1:1\n',
    });
    const models = scanRepository(dir);
    assert.match(models.get('typo')?.problem ?? '', /max_batch_sise: unknown key \(did you mean max_batch_size\?\)/);
    assert.match(models.get('nestedtypo')?.problem ?? '', /backend\.ulr: unknown key \(did you mean backend\.url\?\)/);
  });

  test('a missing directory is an empty repository; a single model file is a repository of one', () => {
    const dir = repo({ 'only.onnx': 'x', 'notes.txt': 'x' });
    assert.equal(scanRepository(path.join(dir, 'absent')).size, 0);
    assert.deepEqual([...scanRepository(path.join(dir, 'only.onnx')).keys()], ['only']);
    assert.throws(() => scanRepository(path.join(dir, 'notes.txt')), /FORJA_ERR_CONFIG_INVALID|is a file but not a model/);
  });

  test('a symlink that leaves the repository is not picked up', () => {
    const outside = repo({ '1/model.onnx': 'x', 'loose.onnx': 'x' });
    const dir = repo({ 'inside/1/model.onnx': 'x' });
    symlinkSync(outside, path.join(dir, 'escape'));
    symlinkSync(path.join(outside, 'loose.onnx'), path.join(dir, 'linked.onnx'));
    symlinkSync(path.join(outside, '1'), path.join(dir, 'inside', '2'));
    const models = scanRepository(dir);
    assert.deepEqual([...models.keys()], ['inside']);
    assert.deepEqual(models.get('inside')?.versions.map((v) => v.version), ['1']);
  });

  test('a model.yaml with only backend: is an external model', () => {
    const dir = repo({ 'remote/model.yaml': 'backend:\n  type: openai\n  url: http://127.0.0.1:9/v1\n' });
    const remote = scanRepository(dir).get('remote');
    assert.deepEqual(remote?.versions.map((v) => [v.version, v.format, v.path]), [['1', 'external', '']]);
    assert.equal(remote?.config.backend?.type, 'openai');
  });
});

describe('assertSafeName', () => {
  for (const bad of ['..', 'a/b', '%2F', '/etc/passwd', '', 'a..b', '.hidden']) {
    test(`rejects ${JSON.stringify(bad)}`, () => {
      assert.throws(() => assertSafeName(bad, 'model'), (err) => err instanceof ForjaError && err.code === 'FORJA_ERR_MODEL_NAME_INVALID');
    });
  }
  for (const good of ['mnist', 'ppocr-cls_v2.1', '10']) {
    test(`accepts ${JSON.stringify(good)}`, () => assertSafeName(good, 'version'));
  }
});
