/**
 * Helpers for the deploy/ tests: where deploy/ is, and whether a system binary (promtool,
 * prometheus, amtool) is installed. A test skips with a clear message when its binary is missing,
 * except under CI=true, where the binary is required and the test fails instead.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { REPO_ROOT } from '../helpers/server-process.js';

export const DEPLOY_DIR = path.join(REPO_ROOT, 'deploy');

/** Whether `binary --version` runs. */
export function hasBinary(binary: string): boolean {
  const probe = spawnSync(binary, ['--version'], { stdio: 'ignore' });
  return probe.error === undefined && probe.status === 0;
}

/**
 * Returns true when the binary is there. Otherwise fails the test under CI=true, or skips it
 * with the Debian package to install and returns false.
 */
export function requireBinary(t: TestContext, binary: string, debianPackage: string): boolean {
  if (hasBinary(binary)) return true;
  assert.notEqual(process.env.CI, 'true', `${binary} must be installed under CI (Debian package ${debianPackage})`);
  t.skip(`${binary} is not installed; apt-get install ${debianPackage} to run this test`);
  return false;
}

/** Runs a binary to completion and returns its status and combined output. */
export function run(binary: string, args: string[], cwd: string): { status: number | null; output: string } {
  const result = spawnSync(binary, args, { cwd, encoding: 'utf8' });
  if (result.error) throw result.error;
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}
