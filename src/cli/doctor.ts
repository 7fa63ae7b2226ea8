/** `forja doctor`: checks the machine, the config and the models, prints a table (or JSON), exits 1 on a failed required check. */
import type { Command } from 'commander';
import { formatTable, runDoctor } from '../doctor/index.js';

interface DoctorFlags {
  config?: string;
  models?: string;
  data?: string;
  json?: boolean;
}

export function registerDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description('check Node, runtimes and GPUs, memory and disk, the config, every model, ports and Redis; explain what to fix')
    .option('-c, --config <file>', 'config file (default: ./forja.yaml when present)')
    .option('-m, --models <dir>', 'model repository directory (models.dir)')
    .option('--data <dir>', 'data directory (data.dir)')
    .option('--json', 'print the results as JSON')
    .action(async (flags: DoctorFlags) => {
      const overrides: Record<string, Record<string, unknown>> = {};
      if (flags.models) overrides.models = { dir: flags.models };
      if (flags.data) overrides.data = { dir: flags.data };
      const report = await runDoctor({ config: flags.config, overrides });
      process.stdout.write(flags.json ? JSON.stringify(report, null, 2) + '\n' : formatTable(report));
      // Native runtimes can hold handles open; the report is written, so leave now.
      process.exit(report.ok ? 0 : 1);
    });
}
