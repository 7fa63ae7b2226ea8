/**
 * Forja's own atomic Redis operations, one Lua script each (BullMQ's scripts do the queueing).
 * Every worker write is fenced: it happens only while the job's BullMQ lock holds the worker's
 * token, checked in the same script.
 */
import type { Redis } from 'ioredis';

interface ScriptDef { keys: number; lua: string }

export const SCRIPTS: Record<string, ScriptDef> = {
  /** KEYS: seq, index, pipelineIndex. ARGV: jobId. Out: the job's sequence number. */
  forjaRegister: { keys: 3, lua: `
    local n = redis.call('INCR', KEYS[1])
    redis.call('ZADD', KEYS[2], n, ARGV[1])
    redis.call('ZADD', KEYS[3], n, ARGV[1])
    return n` },
  /** KEYS: lock, steps, order. ARGV: token, name, metaJson, hasResult, resultJson. Out: 1 stored, 0 fenced off. */
  forjaSaveStep: { keys: 3, lua: `
    if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
    if redis.call('HEXISTS', KEYS[2], 'm:' .. ARGV[2]) == 0 then redis.call('RPUSH', KEYS[3], ARGV[2]) end
    redis.call('HSET', KEYS[2], 'm:' .. ARGV[2], ARGV[3])
    if ARGV[4] == '1' then redis.call('HSET', KEYS[2], 'r:' .. ARGV[2], ARGV[5]) else redis.call('HDEL', KEYS[2], 'r:' .. ARGV[2]) end
    return 1` },
  /** KEYS: lock, steps, order. ARGV: token, name, defaultMetaJson, checkpointJson. Out: 1 / 0. */
  forjaCheckpoint: { keys: 3, lua: `
    if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
    if redis.call('HEXISTS', KEYS[2], 'm:' .. ARGV[2]) == 0 then
      redis.call('RPUSH', KEYS[3], ARGV[2])
      redis.call('HSET', KEYS[2], 'm:' .. ARGV[2], ARGV[3])
    end
    redis.call('HSET', KEYS[2], 'c:' .. ARGV[2], ARGV[4])
    return 1` },
  /** KEYS: lock, job. ARGV: token, field, value, ... Out: 1 / 0. */
  forjaFencedSet: { keys: 2, lua: `
    if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
    redis.call('HSET', KEYS[2], unpack(ARGV, 2))
    return 1` },
  /** KEYS: lock, logs. ARGV: token, entryJson. Out: the entry's seq, or 0 when fenced off. */
  forjaLog: { keys: 2, lua: `
    if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
    local n = redis.call('LLEN', KEYS[2]) + 1
    redis.call('RPUSH', KEYS[2], n .. '|' .. ARGV[2])
    return n` },
  /** KEYS: lock, job, stalled. ARGV: token, leaseMs, jobId. Out: 0 lost, 1 ok, 2 ok and cancel requested. */
  forjaHeartbeat: { keys: 3, lua: `
    if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    redis.call('SREM', KEYS[3], ARGV[3])
    if redis.call('HGET', KEYS[2], 'fcancel') == '1' then return 2 end
    return 1` },
  /**
   * KEYS: job, active, wait, prioritized, delayed, paused, failed, completed, cancelledSet. ARGV: jobId, now.
   * Out: 1 cancelled while queued, 2 cancel requested (running), -1 no such job, -2 finished, -3 other state.
   */
  forjaCancel: { keys: 9, lua: `
    if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
    if redis.call('ZSCORE', KEYS[7], ARGV[1]) or redis.call('ZSCORE', KEYS[8], ARGV[1]) then return -2 end
    if redis.call('LPOS', KEYS[2], ARGV[1]) then
      redis.call('HSET', KEYS[1], 'fcancel', '1')
      return 2
    end
    local removed = redis.call('LREM', KEYS[3], 0, ARGV[1]) + redis.call('ZREM', KEYS[4], ARGV[1])
      + redis.call('ZREM', KEYS[5], ARGV[1]) + redis.call('LREM', KEYS[6], 0, ARGV[1])
    if removed == 0 then return -3 end
    redis.call('ZADD', KEYS[7], ARGV[2], ARGV[1])
    redis.call('HSET', KEYS[1], 'finishedOn', ARGV[2], 'failedReason', 'cancelled', 'fstate', 'cancelled', 'fcancel', '1')
    redis.call('SADD', KEYS[9], ARGV[1])
    return 1` },
  /** KEYS: tick. ARGV: tickAt. Out: 1 when this caller owns the tick. */
  forjaTick: { keys: 1, lua: `
    local last = tonumber(redis.call('GET', KEYS[1]))
    if last and last >= tonumber(ARGV[1]) then return 0 end
    redis.call('SET', KEYS[1], ARGV[1])
    return 1` },
};

export type ScriptedRedis = Redis & {
  forjaRegister(seq: string, index: string, pindex: string, jobId: string): Promise<number>;
  forjaSaveStep(lock: string, steps: string, order: string, token: string, name: string, meta: string, hasResult: string, result: string): Promise<number>;
  forjaCheckpoint(lock: string, steps: string, order: string, token: string, name: string, meta: string, checkpoint: string): Promise<number>;
  forjaFencedSet(lock: string, job: string, token: string, ...fieldValues: string[]): Promise<number>;
  forjaLog(lock: string, logs: string, token: string, entry: string): Promise<number>;
  forjaHeartbeat(lock: string, job: string, stalled: string, token: string, leaseMs: string, jobId: string): Promise<number>;
  forjaCancel(...keysThenArgs: string[]): Promise<number>;
  forjaTick(tick: string, tickAt: string): Promise<number>;
};

export function defineScripts(client: Redis): ScriptedRedis {
  for (const [name, def] of Object.entries(SCRIPTS)) client.defineCommand(name, { numberOfKeys: def.keys, lua: def.lua });
  return client as ScriptedRedis;
}
