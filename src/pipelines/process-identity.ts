/**
 * Who holds a lease: this node (a stable id from config or the data directory), the machine (host
 * name and kernel boot id) and the process (pid and its start time). A worker's id is this identity
 * as one string, stored as the lease owner (SQLite) or inside the lock token (Redis), so a node that
 * restarts after a crash finds the leases of its own previous process and takes them back at once
 * instead of waiting for them to expire.
 *
 * An owner is provably dead, and its leases safe to take, only when it is the same node on the same
 * host and either ran before this machine's last boot or its pid is gone or now belongs to a process
 * started at another time. Anything else (another node, another host, a live process of this node,
 * an owner string from an older version) waits for lease expiry as before.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface ProcessIdentity {
  node: string;
  host: string;
  boot: string;
  pid: number;
  /** When the process started, as the OS counts it (clock ticks since boot on Linux). */
  start: string;
}

const SEPARATOR = '|';
/** What a node id may contain: it is stored inside lease owners and lock tokens. */
export const NODE_ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;

/** The configured node id, or the one kept in `<dataDir>/node-id` (created on first use). */
export function resolveNodeId(dataDir: string, configured?: string): string {
  if (configured !== undefined) return configured;
  const file = path.join(dataDir, 'node-id');
  try {
    const stored = fs.readFileSync(file, 'utf8').trim();
    if (NODE_ID_PATTERN.test(stored)) return stored;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const id = randomUUID();
  fs.mkdirSync(dataDir, { recursive: true });
  // wx: two processes starting at once on one data directory agree on the first id written.
  try {
    fs.writeFileSync(file, `${id}\n`, { flag: 'wx' });
    return id;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return fs.readFileSync(file, 'utf8').trim();
  }
}

export function currentProcess(node: string): ProcessIdentity {
  return { node, host: os.hostname(), boot: bootId(), pid: process.pid, start: processStart(process.pid) ?? String(Math.round(Date.now() - process.uptime() * 1000)) };
}

export function formatOwner(id: ProcessIdentity): string {
  return [id.node, id.host, id.boot, String(id.pid), id.start].join(SEPARATOR);
}

export function parseOwner(owner: string): ProcessIdentity | undefined {
  const parts = owner.split(SEPARATOR);
  if (parts.length !== 5 || !/^\d+$/.test(parts[3])) return undefined;
  return { node: parts[0], host: parts[1], boot: parts[2], pid: Number(parts[3]), start: parts[4] };
}

/** Whether `owner` (a lease owner string) is a process of this node that is certainly not running. */
export function isDeadSibling(owner: string, me: ProcessIdentity): boolean {
  const other = parseOwner(owner);
  if (!other || other.node !== me.node || other.host !== me.host) return false;
  if (other.pid === me.pid && other.start === me.start && other.boot === me.boot) return false;
  if (other.boot !== me.boot) return true;
  const start = processStart(other.pid);
  if (start !== undefined) return start !== other.start;
  return !pidAlive(other.pid);
}

function bootId(): string {
  try {
    return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    // No /proc: the boot time to the minute stands in for the boot id.
    return `boot-${Math.round((Date.now() / 1000 - os.uptime()) / 60)}`;
  }
}

/** Field 22 of /proc/<pid>/stat; undefined without /proc or when no such process runs. */
function processStart(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
