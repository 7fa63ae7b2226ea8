/**
 * Builds a real Forja server (ONNX model, pipelines, SQLite) with the given security settings,
 * listening on loopback, and small fetch helpers that return status, headers and parsed body.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { validateConfig } from '../../src/config/load.js';
import { buildServer, type ForjaServer } from '../../src/server/app.js';
import { writeAddModel } from '../helpers/onnx-models.js';

export interface SecureServer {
  server: ForjaServer;
  url: string;
  close(): Promise<void>;
}

export interface Reply {
  status: number;
  headers: Headers;
  json: any;
}

/** `keys` go into a fresh environment variable named by security.api_keys_env, as an operator would set them. */
export async function startSecureServer(security: Record<string, unknown>, keys?: string, extra: Record<string, unknown> = {}): Promise<SecureServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'forja-security-'));
  const models = path.join(dir, 'models');
  const pipelines = path.join(dir, 'pipelines');
  mkdirSync(pipelines, { recursive: true });
  mkdirSync(path.join(models, 'add', '1'), { recursive: true });
  writeAddModel(path.join(models, 'add', '1', 'model.onnx'));
  writeFileSync(path.join(pipelines, 'echo.mjs'), "export default { name: 'echo', webhook: { allowUnsigned: true }, run: (input) => input };\n");
  const envName = `FORJA_TEST_KEYS_${process.pid}_${Math.random().toString(36).slice(2)}`.toUpperCase();
  if (keys !== undefined) process.env[envName] = keys;
  const config = validateConfig({
    server: { host: '127.0.0.1', port: 0 },
    models: { dir: models },
    pipelines: { dir: pipelines },
    data: { dir: path.join(dir, 'data') },
    log: { level: 'silent' },
    security: { api_keys_env: envName, ...security },
    ...extra,
  });
  const server = await buildServer(config);
  const url = await server.start();
  return {
    server,
    url,
    async close() {
      await server.close();
      delete process.env[envName];
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function call(url: string, method: string, headers: Record<string, string> = {}, body?: unknown): Promise<Reply> {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, headers: res.headers, json };
}

export const ADD_REQUEST = { inputs: [
  { name: 'A', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] },
  { name: 'B', shape: [1, 4], datatype: 'FP32', data: [1, 1, 1, 1] },
] };
