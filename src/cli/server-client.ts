/**
 * How the client commands (`forja jobs …`, `forja bench load`) reach a running server: the URL from
 * --url or FORJA_URL, the API key from --api-key or FORJA_API_KEY (sent as `Authorization: Bearer`),
 * and errors that say what to do ("is the server running at URL?") instead of "fetch failed".
 */
import type { Command } from 'commander';

export const DEFAULT_URL = 'http://127.0.0.1:8080';

export interface ServerFlags {
  url: string;
  apiKey?: string;
}

/** Adds --url and --api-key; their defaults come from the environment when the command runs. */
export function withServerOptions(command: Command): Command {
  return command
    .option('--url <url>', `server URL (env FORJA_URL, default ${DEFAULT_URL})`)
    .option('--api-key <key>', 'API key, when the server has keys on (env FORJA_API_KEY)');
}

export function serverTarget(flags: { url?: string; apiKey?: string }, env: NodeJS.ProcessEnv = process.env): ServerFlags {
  const url = (flags.url ?? env.FORJA_URL ?? DEFAULT_URL).replace(/\/+$/, '');
  try {
    new URL(url);
  } catch {
    throw new Error(`--url: '${url}' is not a URL (e.g. ${DEFAULT_URL})`);
  }
  const apiKey = flags.apiKey ?? (env.FORJA_API_KEY || undefined);
  return { url, apiKey };
}

export function authHeaders(target: ServerFlags): Record<string, string> {
  return target.apiKey ? { authorization: `Bearer ${target.apiKey}` } : {};
}

/** fetch with the key, and a network failure turned into a sentence naming the URL. */
export async function request(target: ServerFlags, path: string, init: RequestInit = {}): Promise<Response> {
  try {
    return await fetch(`${target.url}${path}`, { ...init, headers: { ...authHeaders(target), ...(init.headers as Record<string, string> | undefined) } });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new Error(`cannot reach ${target.url} (${cause?.code ?? cause?.message ?? (err as Error).message}): is the server running at ${target.url}? (--url or FORJA_URL)`);
  }
}

/** The error a refused request reports: the status, the server's message, and a hint for 401/403. */
export function refusal(target: ServerFlags, status: number, body: unknown, statusText: string): Error {
  const error = (body as { error?: unknown } | undefined)?.error;
  const message = typeof error === 'string' ? error : typeof (error as { message?: unknown })?.message === 'string' ? (error as { message: string }).message : statusText;
  const hint = status === 401
    ? (target.apiKey ? ' (the API key was refused)' : ' (the server has API keys on: pass --api-key or set FORJA_API_KEY)')
    : status === 403 ? ' (the API key lacks the scope this needs)' : '';
  return new Error(`${status} ${message}${hint}`);
}

/** A JSON request; resolves with the parsed body of a 2xx answer, throws `refusal` otherwise. */
export async function callJson(target: ServerFlags, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await request(target, path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let data: unknown;
  try { data = text ? JSON.parse(text) : undefined; } catch { data = { error: text.slice(0, 300) }; }
  if (!res.ok) throw refusal(target, res.status, data, res.statusText);
  return data;
}
