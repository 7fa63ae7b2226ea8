/** Child processes of the benchmarks: start one that prints "listening on http://…" (its URL and a stop function), read its CPU time. */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface Child {
  url: string;
  /** host:port from a `grpc://` address on the ready line, when there is one. */
  grpcAddress?: string;
  pid: number;
  stop(): Promise<void>;
}

export async function startListening(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Child> {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      // The whole ready line, so a grpc:// address after the HTTP one is complete.
      const match = /listening on (http:\/\/[^\s"]+)[^\n]*\n/.exec(output);
      if (match) resolve(match[1]);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then(() => reject(new Error(`${command} ${args.join(' ')} exited early:\n${output}`)));
  });
  const grpcAddress = /listening on [^\n]*grpc:\/\/([^\s"]+)/.exec(output)?.[1];
  return {
    url,
    grpcAddress,
    pid: child.pid!,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * CPU time (user + system, ms) a process has used, from /proc: unlike wall time it does not grow
 * when other processes share the cores, so it compares protocols fairly on a busy machine.
 */
export function processCpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in USER_HZ (100)
  } catch {
    return NaN;
  }
}
