#!/usr/bin/env node
/** The `forja` command: parses arguments and hands off to one module per command. */
import { Command } from 'commander';
import { ForjaError } from '../errors.js';
import { FORJA_VERSION } from '../server/version.js';
import { registerServeCommand } from './serve.js';
import { registerConfigCommands } from './config-check.js';
import { registerJobsCommands } from './jobs.js';
import { registerWorkerCommand } from './worker.js';
import { registerDoctorCommand } from './doctor.js';
import { registerBenchCommand } from './bench.js';

const program = new Command();
program.name('forja').description('Serve ONNX and GGUF models and run durable AI pipelines').version(FORJA_VERSION);
registerServeCommand(program);
registerConfigCommands(program);
registerJobsCommands(program);
registerWorkerCommand(program);
registerDoctorCommand(program);
registerBenchCommand(program);

// A ForjaError is printed with its code (docs/errors.md), so scripts can match on it.
program.parseAsync(process.argv).catch((err: Error) => {
  console.error(`forja: ${err instanceof ForjaError ? `${err.code}: ` : ''}${err.message}`);
  process.exit(1);
});
