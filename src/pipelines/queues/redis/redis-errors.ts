/**
 * What a failed Redis call means for the caller. A connection that is down, refused, closed or too
 * slow (the request client's command timeout), and a server that says it cannot serve now (loading,
 * read-only replica, failing disk writes, busy script), are an outage: 503 QUEUE_UNAVAILABLE, retry
 * later. A server out of memory refuses writes: 503 STORAGE_FULL. Any other error reply is a bug in
 * a script or a command and stays as it is (a 500).
 */
import { ForjaError } from '../../../errors.js';
import { queueUnavailable, storageFull } from '../storage-failure.js';

const OUTAGE_REPLIES = ['LOADING', 'READONLY', 'MISCONF', 'MASTERDOWN', 'BUSY', 'CLUSTERDOWN', 'TRYAGAIN', 'NOREPLICAS'];
/** How ioredis and the socket report a connection that is not there (anything else is not an outage). */
const CONNECTION_FAILURE = /Command timed out|Stream isn't writeable|Connection is closed|connect ETIMEDOUT|ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|EPIPE|Reached the max retries/;

export function toQueueError(err: unknown, address: string, timeoutMs: number): unknown {
  if (err instanceof ForjaError || !(err instanceof Error)) return err;
  if (err.name === 'ReplyError') {
    const word = err.message.split(' ', 1)[0];
    if (word === 'OOM') {
      return storageFull(`the job queue (Redis at ${address}) is out of memory and refuses writes: ${err.message}`, err);
    }
    if (!OUTAGE_REPLIES.includes(word)) return err;
  } else if (err.name !== 'MaxRetriesPerRequestError' && err.name !== 'AbortError' && !CONNECTION_FAILURE.test(err.message)) {
    return err;
  }
  const reason = /timed out/i.test(err.message) ? `did not answer within ${timeoutMs} ms` : `is unavailable (${err.message})`;
  return queueUnavailable(`the job queue (Redis at ${address}) ${reason}; retry later`, err);
}
