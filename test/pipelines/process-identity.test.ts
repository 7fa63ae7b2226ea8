/** Lease owners name node, host, boot and process; only a provably dead process of this node is taken over. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { currentProcess, formatOwner, isDeadSibling, parseOwner, resolveNodeId } from '../../src/pipelines/process-identity.js';
import { tempDir } from './helpers.js';

describe('process identity', () => {
  it('keeps one node id per data directory; a configured id wins', () => {
    const dir = path.join(tempDir(), 'data');
    const id = resolveNodeId(dir);
    assert.equal(resolveNodeId(dir), id);
    assert.equal(fs.readFileSync(path.join(dir, 'node-id'), 'utf8').trim(), id);
    assert.equal(resolveNodeId(dir, 'pod-7'), 'pod-7');
  });

  it('formats and parses an owner', () => {
    const me = currentProcess('node-a');
    assert.deepEqual(parseOwner(formatOwner(me)), me);
    assert.equal(parseOwner('worker-6f1c'), undefined, 'ids of older versions are not identities');
  });

  it('a process of this node is dead once it exited, never while it runs', async () => {
    const me = currentProcess('node-a');
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    await new Promise((r) => child.once('spawn', r));
    const start = fs.readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ')[19];
    const owner = formatOwner({ ...me, pid: child.pid!, start });
    assert.equal(isDeadSibling(owner, me), false, 'running');
    assert.equal(isDeadSibling(formatOwner({ ...me, pid: child.pid!, start: `${start}1` }), me), true, 'the pid now belongs to another process');
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await gone;
    assert.equal(isDeadSibling(owner, me), true, 'exited');
  });

  it('is never another node, another host or this very process; a previous boot is dead', () => {
    const me = currentProcess('node-a');
    const gonePid = { ...me, pid: 2 ** 22 + 1, start: '1' };
    assert.equal(isDeadSibling(formatOwner(me), me), false);
    assert.equal(isDeadSibling(formatOwner({ ...gonePid, node: 'node-b' }), me), false);
    assert.equal(isDeadSibling(formatOwner({ ...gonePid, host: 'elsewhere' }), me), false);
    assert.equal(isDeadSibling(formatOwner({ ...me, boot: 'an-earlier-boot' }), me), true);
    assert.equal(isDeadSibling('worker-6f1c', me), false);
  });
});
