/** Starts llama.cpp's llama-server (the LLM benchmarks' peer) on a free port and waits until /health answers. */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';

export interface LlamaServer {
  base: string;
  child: ChildProcess;
}

/** A port the OS just handed out, so the peer never lands on one another process holds. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

export async function startLlamaServer(bin: string, file: string, options: { threads: number; slots: number; contextPerSlot: number }): Promise<LlamaServer> {
  const port = await freePort();
  const child = spawn(bin, ['-m', file, '--host', '127.0.0.1', '--port', String(port), '-t', String(options.threads), '-tb', String(options.threads), '-np', String(options.slots), '-c', String(options.contextPerSlot * options.slots), '--log-disable'], { stdio: 'ignore' });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 400; i++) {
    if (await fetch(`${base}/health`).then((r) => r.ok, () => false)) return { base, child };
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill();
  throw new Error('llama-server did not become healthy');
}
