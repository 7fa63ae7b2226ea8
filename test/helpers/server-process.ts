/**
 * Starts the real `forja` CLI in a child process and waits for its ready line.
 * Tests talk to it over HTTP and stop it with a real signal.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const CLI = path.join(REPO_ROOT, 'dist/src/cli/main.js');
export const SHARED_MODELS = path.resolve(REPO_ROOT, '../shared/models');

export interface ServerProcess {
  url: string;
  /** host:port of the gRPC listener, when the server was started with one (`--grpc-port`). */
  grpcAddress?: string;
  child: ChildProcess;
  /** Everything the process wrote so far (stdout and stderr). */
  output(): string;
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * `portFlag: false` leaves out `--port 0`, for tests whose config file must decide the port (a flag
 * would win over it). An env value of `undefined` removes that variable from the child's environment.
 * `cli` runs another build of the CLI (an installed package's) instead of this checkout's.
 */
export async function startServer(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; portFlag?: boolean; cli?: string } = {}): Promise<ServerProcess> {
  const portArgs = options.portFlag === false ? [] : ['--port', '0'];
  const child = spawn(process.execPath, [options.cli ?? CLI, 'serve', ...portArgs, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: { ...process.env, FORJA_LOG__LEVEL: 'warn', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      // The ready line is one line; wait for its end so a grpc:// address on it is complete.
      const match = /listening on (http:\/\/[^\s"]+)[^\n]*\n/.exec(output);
      if (match) resolve(match[1]);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => reject(new Error(`forja exited with ${code} before it was ready:\n${output}`)));
  });
  const grpcAddress = /listening on [^\n]*grpc:\/\/([^\s"]+)/.exec(output)?.[1];
  return {
    url,
    grpcAddress,
    child,
    output: () => output,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      return exited;
    },
  };
}
