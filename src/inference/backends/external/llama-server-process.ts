/**
 * Runs llama.cpp's llama-server as a child process: starts it on a free port, waits for /health,
 * checks it while it runs and restarts it when it exits or stops answering. While it is down,
 * requests fail fast with UPSTREAM_FAILED (502) instead of hanging.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createServer } from 'node:net';
import type { Logger } from 'pino';
import { errors } from '../../../errors.js';

export interface LlamaServerOptions {
  binary: string;
  model: string;
  threads: number;
  parallel: number;
  contextSize?: number;
  args?: string[];
  logger: Logger;
  /** Health check period once running. */
  healthIntervalMs?: number;
  /** How long a start may take before it is a failure. */
  startTimeoutMs?: number;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

/** Emits 'ready' after every successful start (the first and each restart). */
export class LlamaServerProcess extends EventEmitter {
  private child: ChildProcess | undefined;
  private port = 0;
  private healthy = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  restarts = 0;

  constructor(private readonly options: LlamaServerOptions) {
    super();
  }

  get baseUrl(): string { return `http://127.0.0.1:${this.port}/v1`; }
  get pid(): number | undefined { return this.child?.pid; }

  /** Throws UPSTREAM_FAILED while the server is not up. */
  assertReady(): void {
    if (!this.healthy) throw errors.UPSTREAM_FAILED('llama-server is not running (restarting)', { headers: { 'retry-after': '1' } });
  }

  async start(): Promise<void> {
    this.port = await freePort();
    const o = this.options;
    const args = ['-m', o.model, '--host', '127.0.0.1', '--port', String(this.port), '-t', String(o.threads), '-np', String(o.parallel)];
    if (o.contextSize) args.push('-c', String(o.contextSize * o.parallel));
    args.push(...(o.args ?? []));
    const child = spawn(o.binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-2000); });
    const exited = new Promise<never>((_, reject) => {
      child.once('error', (err) => reject(errors.MODEL_UNAVAILABLE(`cannot start llama-server ${o.binary}: ${err.message}`)));
      child.once('exit', (code) => reject(errors.MODEL_UNAVAILABLE(`llama-server exited with ${code} while starting: ${stderr.trim().split('\n').at(-1) ?? ''}`)));
    });
    exited.catch(() => undefined);
    await Promise.race([this.waitHealthy(o.startTimeoutMs ?? 60_000), exited]);
    this.healthy = true;
    child.once('exit', (code) => this.onExit(code));
    this.timer = setInterval(() => void this.check(), o.healthIntervalMs ?? 5_000);
    this.timer.unref();
    this.emit('ready');
  }

  private async waitHealthy(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await this.probe()) return;
      await new Promise((r) => setTimeout(r, 50)); // polling a child process that has no readiness event
    }
    throw errors.MODEL_UNAVAILABLE(`llama-server did not become healthy within ${timeoutMs} ms`);
  }

  private async probe(): Promise<boolean> {
    try {
      const res = await fetch(`http://127.0.0.1:${this.port}/health`, { signal: AbortSignal.timeout(2_000) });
      return res.ok;
    } catch {
      return false;
    }
  }

  private async check(): Promise<void> {
    if (this.stopped || !this.healthy) return;
    if (!(await this.probe())) {
      this.options.logger.warn({ pid: this.pid }, 'llama-server failed its health check; restarting');
      this.child?.kill('SIGKILL'); // the exit handler restarts it
    }
  }

  private onExit(code: number | null): void {
    this.healthy = false;
    if (this.timer) clearInterval(this.timer);
    if (this.stopped) return;
    this.restarts++;
    this.options.logger.warn({ code, restarts: this.restarts }, 'llama-server exited; restarting');
    this.start().catch((err) => this.options.logger.error({ err }, 'llama-server restart failed'));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.healthy = false;
    if (this.timer) clearInterval(this.timer);
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await gone;
  }
}
