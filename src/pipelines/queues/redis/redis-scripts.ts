/**
 * Forja's own atomic Redis operations, one Lua script each (BullMQ's scripts do the queueing).
 * Every worker write is fenced: it happens only while the job's BullMQ lock holds the worker's
 * token, checked in the same script.
 */
import type { Redis } from 'ioredis';

interface ScriptDef { keys: number; lua: string }

export const SCRIPTS: Record<string, ScriptDef> = {
  /**
   * One enqueue: the idempotency check, the job as BullMQ's add scripts store it (hash, then the
   * wait, paused, prioritized or delayed set, the marker that wakes blocked workers, the events
   * stream), the idempotency key and Forja's list index, all or nothing.
   * KEYS: job, wait, paused, meta, active, prioritized, priorityCounter, delayed, marker, events,
   *       idempotency, seq, index, pipelineIndex, completed, failed.
   * ARGV: jobId, name, dataJson, optsJson, timestamp, delay, priority, hasIdempotencyKey, jobKeyPrefix,
   *       deadline (ms on Redis's clock, 0 for none).
   * Out: {1, jobId} created; {0, existingJobId, bullState, field, value, ...} when the idempotency key
   *      (or the id) is taken: that job's hash and BullMQ state (as Queue.getJobState names it), read
   *      here so a repeated submission costs one round trip; {-1, ''} when the call arrived after its
   *      deadline (the caller was answered with an error).
   */
  forjaEnqueue: { keys: 16, lua: `
    local rcall = redis.call
    local id = ARGV[1]
    if ARGV[10] ~= '0' then
      local now = rcall('TIME')
      if tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) > tonumber(ARGV[10]) then return {-1, ''} end
    end
    -- In the order of BullMQ's own state script.
    local function stateOf(jobId)
      if rcall('ZSCORE', KEYS[15], jobId) then return 'completed' end
      if rcall('ZSCORE', KEYS[16], jobId) then return 'failed' end
      if rcall('ZSCORE', KEYS[8], jobId) then return 'delayed' end
      if rcall('ZSCORE', KEYS[6], jobId) then return 'prioritized' end
      if rcall('LPOS', KEYS[5], jobId) then return 'active' end
      if rcall('LPOS', KEYS[2], jobId) or rcall('LPOS', KEYS[3], jobId) then return 'waiting' end
      return 'unknown'
    end
    local function taken(jobId)
      local out = {0, jobId, stateOf(jobId)}
      local fields = rcall('HGETALL', ARGV[9] .. jobId)
      for i = 1, #fields do out[#out + 1] = fields[i] end
      return out
    end
    if ARGV[8] == '1' then
      local existing = rcall('GET', KEYS[11])
      if existing and rcall('EXISTS', ARGV[9] .. existing) == 1 then return taken(existing) end
    end
    if rcall('EXISTS', KEYS[1]) == 1 then return taken(id) end
    local timestamp = tonumber(ARGV[5])
    local delay = tonumber(ARGV[6])
    local priority = tonumber(ARGV[7])
    rcall('HSET', KEYS[1], 'name', ARGV[2], 'data', ARGV[3], 'opts', ARGV[4], 'timestamp', ARGV[5], 'delay', delay, 'priority', priority)
    local maxEvents = rcall('HGET', KEYS[4], 'opts.maxLenEvents') or 10000
    rcall('XADD', KEYS[10], 'MAXLEN', '~', maxEvents, '*', 'event', 'added', 'jobId', id, 'name', ARGV[2])
    if delay > 0 then
      -- BullMQ's delayed score: due time * 0x1000 plus a counter for jobs due in the same millisecond.
      local due = timestamp + delay
      local score = due * 0x1000
      local maxScore = (due + 1) * 0x1000 - 1
      local last = rcall('ZREVRANGEBYSCORE', KEYS[8], maxScore, score, 'WITHSCORES', 'LIMIT', 0, 1)
      if last[2] then score = math.min(tonumber(last[2]) + 1, maxScore) end
      rcall('ZADD', KEYS[8], score, id)
      rcall('XADD', KEYS[10], 'MAXLEN', '~', maxEvents, '*', 'event', 'delayed', 'jobId', id, 'delay', due)
      local first = rcall('ZRANGE', KEYS[8], 0, 0, 'WITHSCORES')
      if first[2] then rcall('ZADD', KEYS[9], tonumber(first[2]) / 0x1000, '1') end
    else
      local queue = rcall('HMGET', KEYS[4], 'paused', 'concurrency')
      local maxed = queue[1] or (queue[2] and rcall('LLEN', KEYS[5]) >= tonumber(queue[2]))
      if priority > 0 then
        local counter = rcall('INCR', KEYS[7])
        rcall('ZADD', KEYS[6], priority * 0x100000000 + counter % 0x100000000, id)
      elseif queue[1] then
        rcall('LPUSH', KEYS[3], id)
      else
        rcall('LPUSH', KEYS[2], id)
      end
      if not maxed then rcall('ZADD', KEYS[9], 0, '0') end
      rcall('XADD', KEYS[10], 'MAXLEN', '~', maxEvents, '*', 'event', 'waiting', 'jobId', id)
    end
    if ARGV[8] == '1' then rcall('SET', KEYS[11], id) end
    local n = rcall('INCR', KEYS[12])
    rcall('ZADD', KEYS[13], n, id)
    rcall('ZADD', KEYS[14], n, id)
    return {1, id}` },
  /**
   * failed | cancelled → waiting, as BullMQ's retry does, plus Forja's part: failed steps get their
   * tries back and wait as `retrying` with their error (completed steps keep results and
   * checkpoints), the job's cancel and error marks go, the
   * deliveries so far are kept in `fats`, the job data counts the retry (so the next delivery loads
   * stored steps).
   * KEYS: job, failed, wait, paused, meta, active, marker, events, steps, cancelledSet.
   * ARGV: jobId, deadline (ms on Redis's clock).
   * Out: the job hash as re-queued (read in the same call, before any worker can claim it), -1 no such
   *      job, -2 not failed or cancelled, -3 arrived after its deadline.
   */
  forjaRetry: { keys: 10, lua: `
    local rcall = redis.call
    local id = ARGV[1]
    local now = rcall('TIME')
    if tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) > tonumber(ARGV[2]) then return -3 end
    if rcall('EXISTS', KEYS[1]) == 0 then return -1 end
    if rcall('ZREM', KEYS[2], id) == 0 then return -2 end
    local steps = rcall('HGETALL', KEYS[9])
    for i = 1, #steps, 2 do
      if string.sub(steps[i], 1, 2) == 'm:' then
        local meta = cjson.decode(steps[i + 1])
        if meta.state ~= 'succeeded' then
          -- Waits as retrying, with the error that ended it, until the next delivery starts it.
          meta.state = 'retrying'
          meta.attempts = 0
          rcall('HSET', KEYS[9], steps[i], cjson.encode(meta))
        end
      end
    end
    -- The runs' deliveries so far move to fats (the job shows every delivery; BullMQ's ats, which
    -- max deliveries is checked against, starts again from 0).
    local ats = tonumber(rcall('HGET', KEYS[1], 'ats') or '0')
    if ats > 0 then rcall('HINCRBY', KEYS[1], 'fats', ats) end
    rcall('HDEL', KEYS[1], 'fcancel', 'fstate', 'ferr', 'progress', 'fpmsg', 'finishedOn', 'processedOn', 'failedReason', 'atm', 'ats')
    -- The data is JSON.stringify({i, m, k?, r?}) written by this backend, so r, when present, ends it.
    -- Edited as text: decoding and re-encoding would round the input's numbers.
    local data = rcall('HGET', KEYS[1], 'data')
    local s, _, r = string.find(data, ',"r":(%d+)}$')
    if s then data = string.sub(data, 1, s - 1) .. ',"r":' .. (tonumber(r) + 1) .. '}'
    else data = string.sub(data, 1, -2) .. ',"r":1}' end
    rcall('HSET', KEYS[1], 'data', data)
    local queue = rcall('HMGET', KEYS[5], 'paused', 'concurrency')
    local maxed = queue[1] or (queue[2] and rcall('LLEN', KEYS[6]) >= tonumber(queue[2]))
    if queue[1] then rcall('LPUSH', KEYS[4], id) else rcall('LPUSH', KEYS[3], id) end
    if not maxed then rcall('ZADD', KEYS[7], 0, '0') end
    rcall('SREM', KEYS[10], id)
    local maxEvents = rcall('HGET', KEYS[5], 'opts.maxLenEvents') or 10000
    rcall('XADD', KEYS[8], 'MAXLEN', '~', maxEvents, '*', 'event', 'waiting', 'jobId', id, 'prev', 'failed')
    return rcall('HGETALL', KEYS[1])` },
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
  /**
   * KEYS: lock, logs. ARGV: token, entryJson, maxLines, markerJson. Stores the entry while the log has
   * fewer than maxLines - 1 lines, then the truncation marker, then nothing.
   * Out: the stored line's seq, -1 dropped (the log is full), 0 fenced off.
   */
  forjaLog: { keys: 2, lua: `
    if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
    local n = redis.call('LLEN', KEYS[2]) + 1
    local max = tonumber(ARGV[3])
    if n > max then return -1 end
    if n == max then redis.call('RPUSH', KEYS[2], n .. '|' .. ARGV[4]) else redis.call('RPUSH', KEYS[2], n .. '|' .. ARGV[2]) end
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
  /**
   * A dead worker's job back to waiting at once, as BullMQ's stalled-job check would move it after
   * its lock expired: only while the lock still holds that worker's token.
   * KEYS: lock, job, active, stalled, wait, paused, meta, marker, events. ARGV: token, jobId.
   * Out: 1 moved, 0 the lock is not (or no longer) that token's.
   */
  forjaReclaim: { keys: 9, lua: `
    local rcall = redis.call
    local id = ARGV[2]
    if rcall('GET', KEYS[1]) ~= ARGV[1] then return 0 end
    rcall('DEL', KEYS[1])
    if rcall('LREM', KEYS[3], 1, id) == 0 then return 0 end
    rcall('SREM', KEYS[4], id)
    rcall('HINCRBY', KEYS[2], 'stc', 1)
    local queue = rcall('HMGET', KEYS[7], 'paused', 'concurrency')
    local maxed = queue[1] or (queue[2] and rcall('LLEN', KEYS[3]) >= tonumber(queue[2]))
    if queue[1] then rcall('RPUSH', KEYS[6], id) else rcall('RPUSH', KEYS[5], id) end
    if not maxed then rcall('ZADD', KEYS[8], 0, '0') end
    rcall('XADD', KEYS[9], '*', 'event', 'waiting', 'jobId', id, 'prev', 'active')
    return 1` },
  /** KEYS: tick. ARGV: tickAt. Out: 1 when this caller owns the tick. */
  forjaTick: { keys: 1, lua: `
    local last = tonumber(redis.call('GET', KEYS[1]))
    if last and last >= tonumber(ARGV[1]) then return 0 end
    redis.call('SET', KEYS[1], ARGV[1])
    return 1` },
};

export type ScriptedRedis = Redis & {
  forjaEnqueue(...keysThenArgs: string[]): Promise<[-1 | 0 | 1, string, ...string[]]>;
  forjaRetry(...keysThenArgs: string[]): Promise<number | string[]>;
  forjaSaveStep(lock: string, steps: string, order: string, token: string, name: string, meta: string, hasResult: string, result: string): Promise<number>;
  forjaCheckpoint(lock: string, steps: string, order: string, token: string, name: string, meta: string, checkpoint: string): Promise<number>;
  forjaFencedSet(lock: string, job: string, token: string, ...fieldValues: string[]): Promise<number>;
  forjaLog(lock: string, logs: string, token: string, entry: string, maxLines: string, marker: string): Promise<number>;
  forjaHeartbeat(lock: string, job: string, stalled: string, token: string, leaseMs: string, jobId: string): Promise<number>;
  forjaCancel(...keysThenArgs: string[]): Promise<number>;
  forjaTick(tick: string, tickAt: string): Promise<number>;
  forjaReclaim(...keysThenArgs: string[]): Promise<number>;
};

export function defineScripts(client: Redis): ScriptedRedis {
  for (const [name, def] of Object.entries(SCRIPTS)) client.defineCommand(name, { numberOfKeys: def.keys, lua: def.lua });
  return client as ScriptedRedis;
}
