/**
 * The one Server-Sent Events helper, on a real Fastify server over real sockets: framing, headers,
 * heartbeats, the end when the client leaves, and the drain (streams without an end of their own
 * end when it starts and are refused while it lasts; a generation's stream is left to finish).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify, { type FastifyInstance } from 'fastify';
import { registerDrain, type Drain } from '../../src/http/drain.js';
import { errorHandler } from '../../src/http/errors.js';
import { openSse, sseFrame, type SseStream } from '../../src/http/sse.js';

describe('sseFrame', () => {
  test('event, id and JSON data, ended by a blank line', () => {
    assert.equal(sseFrame({ event: 'state', id: 7, data: { state: 'running' } }), 'event: state\nid: 7\ndata: {"state":"running"}\n\n');
  });

  test('a string is sent as it is, one data: line per line, so a line break cannot end the event early', () => {
    assert.equal(sseFrame({ data: 'one\ntwo\r\nthree' }), 'data: one\ndata: two\ndata: three\n\n');
    assert.equal(sseFrame({ data: '[DONE]' }), 'data: [DONE]\n\n');
  });

  test('a line break in an event name or id cannot inject a field', () => {
    assert.equal(sseFrame({ event: 'a\ndata: x', id: '1\n2', data: 1 }), 'event: a data: x\nid: 1 2\ndata: 1\n\n');
  });
});

describe('openSse', () => {
  let app: FastifyInstance;
  let drain: Drain;
  let url: string;
  const opened: SseStream[] = [];
  const closedOnServer: Array<Promise<void>> = [];

  before(async () => {
    app = Fastify();
    drain = registerDrain(app);
    app.setErrorHandler(errorHandler());
    const route = (endOnDrain: boolean) => (request: any, reply: any) => {
      const stream = openSse(request, reply, { endOnDrain, headers: { 'x-frame-options': 'DENY' }, cacheControl: 'no-store', retryMs: 2000, heartbeatMs: 20 });
      opened.push(stream);
      closedOnServer.push(new Promise((resolve) => stream.onClose(resolve)));
      stream.send({ event: 'hello', data: { n: 1 } });
    };
    app.get('/feed', route(true));
    app.get('/generation', route(false));
    url = await app.listen({ host: '127.0.0.1', port: 0 });
  });

  after(async () => {
    for (const stream of opened) stream.end();
    await app.close();
  });

  /** Reads the stream until `pattern` shows up in what arrived. */
  async function readUntil(reader: ReadableStreamDefaultReader<Uint8Array>, pattern: RegExp): Promise<string> {
    let text = '';
    while (!pattern.test(text)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the stream ended before ${pattern}: ${text}`);
      text += Buffer.from(value).toString();
    }
    return text;
  }

  test('headers at once, retry first, then events and heartbeats; the server sees the client leave', async () => {
    const controller = new AbortController();
    const res = await fetch(`${url}/feed`, { signal: controller.signal });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(res.headers.get('x-frame-options'), 'DENY', 'extra headers reach a hijacked reply');
    assert.equal(res.headers.get('x-accel-buffering'), 'no');
    assert.ok(res.headers.get('x-request-id'));
    const text = await readUntil(res.body!.getReader(), /: keep-alive\n\n/);
    assert.ok(text.startsWith('retry: 2000\n\nevent: hello\ndata: {"n":1}\n\n'), text);
    const serverSide = closedOnServer.at(-1)!;
    controller.abort();
    await serverSide; // onClose ran once the client went away
    assert.equal(opened.at(-1)!.closed, true);
  });

  test('the drain ends an endless stream, lets a generation go on, and refuses new endless streams with 503', async () => {
    const feed = await fetch(`${url}/feed`);
    const generation = await fetch(`${url}/generation`);
    const generationStream = opened.at(-1)!;
    const feedText = feed.text(); // resolves only when the server ends the stream
    const generationReader = generation.body!.getReader();
    await readUntil(generationReader, /event: hello/);

    drain.start();
    assert.match(await feedText, /event: hello/);
    assert.equal(generationStream.closed, false, 'a stream with an end of its own is not cut');
    generationStream.send({ data: 'last' });
    await readUntil(generationReader, /data: last/);
    generationStream.end();
    assert.equal((await generationReader.read()).done, true);

    const refused = await fetch(`${url}/feed`);
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get('retry-after'), '1');
    assert.equal(refused.headers.get('connection'), 'close');
    assert.equal(((await refused.json()) as { code: string }).code, 'FORJA_ERR_SHUTTING_DOWN');
    const served = await fetch(`${url}/generation`);
    assert.equal(served.status, 200, 'a generation may still start while the server drains');
    assert.equal(served.headers.get('connection'), 'close');
    opened.at(-1)!.end();
    await served.text();
    assert.equal(await drain.settled(10_000), true, 'every stream ended, so nothing is left in flight');
  });
});
