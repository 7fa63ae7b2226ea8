/**
 * What one `ctx.log(message, data)` call may store: a message of at most MAX_LOG_MESSAGE_CHARS and
 * data whose JSON is at most MAX_LOG_DATA_BYTES. Longer messages are cut with a note; data that is too
 * big, or cannot be JSON (a cycle, a BigInt), is replaced by a note, so a line is never lost silently
 * and one step cannot fill the storage with a single call. The count of lines per job is bounded by
 * the backends (MAX_LOG_LINES).
 */
export const MAX_LOG_MESSAGE_CHARS = 8192;
export const MAX_LOG_DATA_BYTES = 16_384;

export interface LogLine {
  message: string;
  data?: unknown;
}

export function boundLogLine(message: unknown, data: unknown): LogLine {
  let text = String(message);
  if (text.length > MAX_LOG_MESSAGE_CHARS) {
    text = `${text.slice(0, MAX_LOG_MESSAGE_CHARS)}… (${text.length - MAX_LOG_MESSAGE_CHARS} more characters not stored)`;
  }
  if (data === undefined) return { message: text };
  let json: string | undefined;
  try {
    json = JSON.stringify(data);
  } catch (err) {
    return { message: text, data: `[data not stored: it is not JSON (${(err as Error).message})]` };
  }
  if (json === undefined) return { message: text }; // a function or a symbol: nothing to store
  const bytes = Buffer.byteLength(json);
  if (bytes > MAX_LOG_DATA_BYTES) return { message: text, data: `[data not stored: ${bytes} bytes of JSON, the limit is ${MAX_LOG_DATA_BYTES}]` };
  return { message: text, data: JSON.parse(json) };
}
