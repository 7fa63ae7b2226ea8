/** `forja config check [file]`: validates a config (with its overlay and env overrides); exit 1 names each bad key. */
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { ForjaError } from '../errors.js';

export function registerConfigCommands(program: Command): void {
  const config = program.command('config').description('inspect and validate configuration');
  config
    .command('check [file]')
    .description('validate a config file (default ./forja.yaml) with its FORJA_ENV overlay and FORJA_* overrides')
    .option('--print', 'print the effective configuration as JSON')
    .action((file: string | undefined, flags: { print?: boolean }) => {
      try {
        const { config: effective, files, envOverrides } = loadConfig({ file });
        const sources = files.length ? files.join(', ') : 'defaults only (no config file)';
        console.log(`config ok: ${sources}${envOverrides.length ? `; env overrides: ${envOverrides.join(', ')}` : ''}`);
        if (flags.print) console.log(JSON.stringify(effective, null, 2));
      } catch (err) {
        console.error(err instanceof ForjaError ? `${err.code}: ${err.message}` : (err as Error).message);
        process.exitCode = 1;
      }
    });
}
