/** Machine checks: free memory, free disk and write access where job state lives, the listen port. */
import { accessSync, constants, existsSync, mkdtempSync, rmSync, statfsSync, statSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { result, firstLine, formatBytes, type CheckResult } from './types.js';

const GROUP = 'system';
const LOW_MEMORY = 1024 ** 3;
const LOW_DISK = 1024 ** 3;

export function checkMemory(): CheckResult {
  const free = os.freemem();
  const total = os.totalmem();
  const detail = `${formatBytes(free)} free of ${formatBytes(total)}`;
  return free < LOW_MEMORY
    ? result(GROUP, 'memory', 'warn', detail, 'little memory is free: stop other programs or set models.memory_budget_bytes below what the models need together')
    : result(GROUP, 'memory', 'pass', detail);
}

/** The nearest directory that exists: a data dir that is not there yet is created under it. */
function existingAncestor(dir: string): string {
  let current = path.resolve(dir);
  while (!existsSync(current)) {
    const parent = path.dirname(current);
    if (parent === current) break;
    current = parent;
  }
  return current;
}

/** Writes and removes a probe file; a missing directory is judged by the directory it would be created in. */
export function checkDataDir(dir: string): CheckResult[] {
  const target = path.resolve(dir);
  const base = existingAncestor(target);
  const results: CheckResult[] = [];
  try {
    if (!statSync(base).isDirectory()) throw new Error(`${base} is a file, not a directory`);
    if (base === target) {
      rmSync(mkdtempSync(path.join(target, '.forja-doctor-')), { recursive: true, force: true });
    } else {
      accessSync(base, constants.W_OK);
    }
    results.push(result(GROUP, 'data directory', 'pass', base === target ? `${target} is writable` : `${target} will be created in ${base}`));
  } catch (err) {
    results.push(result(GROUP, 'data directory', 'fail', `${target} is not writable: ${firstLine(err)}`,
      'set data.dir (or --data) to a directory this user can write, or fix its owner and permissions'));
    return results;
  }
  try {
    const fs = statfsSync(base);
    const free = fs.bavail * fs.bsize;
    const detail = `${formatBytes(free)} free on the data directory's file system`;
    results.push(free < LOW_DISK
      ? result(GROUP, 'disk', 'warn', detail, 'job state and logs need room: free some space or move data.dir')
      : result(GROUP, 'disk', 'pass', detail));
  } catch (err) {
    results.push(result(GROUP, 'disk', 'warn', `cannot read free space: ${firstLine(err)}`));
  }
  return results;
}

/** Tries to bind the configured address and port, then lets it go at once. */
export async function checkPort(host: string, port: number): Promise<CheckResult> {
  const name = 'listen address';
  if (port === 0) return result(GROUP, name, 'pass', `${host}: any free port (server.port 0)`);
  const error = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    const server = net.createServer();
    server.once('error', (err) => resolve(err));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
  if (!error) return result(GROUP, name, 'pass', `${host}:${port} is free`);
  if (error.code === 'EADDRINUSE') {
    return result(GROUP, name, 'warn', `${host}:${port} is in use`, 'another program (or a running forja) holds the port: stop it, or set server.port / --port');
  }
  return result(GROUP, name, 'fail', `cannot bind ${host}:${port}: ${error.code ?? firstLine(error)}`,
    error.code === 'EACCES' ? 'ports below 1024 need privileges: use a port ≥ 1024' : 'check server.host: it must be an address of this machine');
}
