/** `forja serve`: builds the server from config + flags, prints the ready line, drains on SIGTERM/SIGINT. */
import { Option, type Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { buildServer } from '../server/app.js';
import { ConfigReloader } from '../server/config-reloader.js';
import { followSecurityReloads } from '../server/security-reload.js';
import { parsePort } from './parse.js';
import { logReady } from '../telemetry/logger.js';

interface ServeFlags {
  config?: string;
  models?: string;
  pipelines?: string;
  data?: string;
  host?: string;
  port?: number;
  grpcPort?: number;
  logFormat?: 'auto' | 'pretty' | 'json';
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('serve the models of a repository (Open Inference Protocol v2, OpenAI API) and run pipelines')
    .option('-c, --config <file>', 'config file (default: ./forja.yaml when present)')
    .option('-m, --models <dir>', 'model repository directory (models.dir)')
    .option('--pipelines <dir>', 'pipelines directory (pipelines.dir)')
    .option('--data <dir>', 'data directory for job state (data.dir)')
    .option('--host <host>', 'address to bind (server.host)')
    .option('-p, --port <port>', 'port to listen on, 0 for any free port (server.port)', parsePort)
    .option('--grpc-port <port>', 'also serve the inference protocol over gRPC on this port, 0 for any free port (server.grpc_port)', parsePort)
    .addOption(new Option('--log-format <format>', 'log lines as JSON or for people (log.format; default: pretty on a terminal)').choices(['auto', 'pretty', 'json']))
    .action(async (flags: ServeFlags) => {
      await serve(flags);
    });
}

async function serve(flags: ServeFlags): Promise<void> {
  const overrides: Record<string, Record<string, unknown>> = {};
  const set = (section: string, key: string, value: unknown) => {
    if (value !== undefined) (overrides[section] ??= {})[key] = value;
  };
  set('server', 'host', flags.host);
  set('server', 'port', flags.port);
  set('server', 'grpc_port', flags.grpcPort);
  set('models', 'dir', flags.models);
  set('pipelines', 'dir', flags.pipelines);
  set('data', 'dir', flags.data);
  set('log', 'format', flags.logFormat);
  const { config, files } = loadConfig({ file: flags.config, overrides });

  const server = await buildServer(config);
  // Same layers as at start (file, overlay, env, these flags), so a reload sees what a restart would.
  const reloader = new ConfigReloader({ server, files, load: () => loadConfig({ file: flags.config, overrides }).config });
  // API keys (re-read from their file), CORS origins and the rate limit follow each reload.
  followSecurityReloads(reloader, server);
  // Installed before listening: SIGHUP's default action would end the process.
  process.on('SIGHUP', () => void reloader.reload('SIGHUP'));
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      // A second Ctrl-C: out now. Jobs still running are taken back at once by this node's next start.
      if (signal === 'SIGINT') {
        server.logger.warn('second SIGINT: exiting now without waiting for the drain');
        server.logger.flush?.();
        process.exit(130);
      }
      return;
    }
    stopping = true;
    server.logger.info({ signal }, 'draining before exit');
    const timer = setTimeout(() => {
      server.logger.error('shutdown timed out; exiting with work unfinished');
      process.exit(1);
    }, config.server.shutdown_timeout_ms);
    timer.unref();
    reloader.close();
    await server.close();
    server.logger.flush?.();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  const address = await server.start();
  reloader.watch();
  // The ready line: the first line naming the URL, written once /v2/health/ready answers 200.
  logReady(server.logger, `${address}${server.grpcUrl ? ` and ${server.grpcUrl}` : ''}`, {
    url: address, grpcUrl: server.grpcUrl, configFiles: files, models: server.manager.status().length,
  });
}
