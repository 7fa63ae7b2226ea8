/**
 * Scans the model repository:
 *   DIR/<name>/<version>/model.onnx|model.gguf   (versions are sub-directories)
 *   DIR/<name>/model.yaml                        (optional settings, see model-config.ts)
 *   DIR/<name>.onnx | DIR/<name>.gguf            (model <name>, version 1)
 *   DIR/<name>/model.yaml with `backend:` alone  (an external OpenAI-compatible server)
 * Requests look models up by name in the scanned map; no request string is ever joined into a
 * path, so nothing outside the repository can be read. Symlinks that leave DIR are skipped.
 */
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { modelConfigSchema, type ModelConfig } from './model-config.js';
import { describeIssues } from '../config/issues.js';
import type { ModelVersionSource } from './types.js';
import { errors } from '../errors.js';

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const MODEL_FILES = { 'model.onnx': 'onnx', 'model.gguf': 'gguf' } as const;

export interface RepositoryModel {
  name: string;
  /** Versions in ascending order. */
  versions: ModelVersionSource[];
  defaultVersion: string;
  config: ModelConfig;
  /** Set when model.yaml is invalid: the model is listed but UNAVAILABLE. */
  problem?: string;
}

/** Model and version names must be plain names; anything else is refused before any lookup. */
/** `<name>.onnx` or `<name>.gguf`: model <name>, version 1; anything else is not a model. */
function bareFileModel(file: string): RepositoryModel | undefined {
  const ext = path.extname(file);
  const format = ext === '.onnx' ? 'onnx' : ext === '.gguf' ? 'gguf' : undefined;
  const name = path.basename(file, ext);
  if (!format || !NAME_PATTERN.test(name)) return undefined;
  return { name, versions: [{ name, version: '1', path: file, format, config: {} }], defaultVersion: '1', config: {} };
}

/** What the repository at `dir` is, for the start-up log: a directory, one model file, or nothing yet. */
export function describeRepository(dir: string): 'directory' | 'file' | 'missing' {
  const target = statSync(dir, { throwIfNoEntry: false });
  return !target ? 'missing' : target.isFile() ? 'file' : 'directory';
}

export function assertSafeName(value: string, what: 'model' | 'version'): void {
  if (!NAME_PATTERN.test(value) || value.includes('..')) {
    throw errors.MODEL_NAME_INVALID(`invalid ${what} name '${value}': use letters, digits, '_', '-' and '.', starting with a letter or digit`);
  }
}

/**
 * `dir` may also be a single `.onnx` or `.gguf` file: a repository of that one model (named after
 * the file). A directory that does not exist is an empty repository: the server starts with no
 * models and says so (see describeRepository).
 */
export function scanRepository(dir: string): Map<string, RepositoryModel> {
  const models = new Map<string, RepositoryModel>();
  const target = statSync(dir, { throwIfNoEntry: false });
  if (!target) return models;
  if (target.isFile()) {
    const model = bareFileModel(realpathSync(dir));
    if (!model) throw errors.CONFIG_INVALID(`models.dir ${dir} is a file but not a model: give a directory, or a .onnx or .gguf file`);
    return models.set(model.name, model);
  }
  const root = realpathSync(dir);
  for (const entry of readdirSync(root, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const full = path.join(root, entry.name);
    if (!isInside(root, full)) continue;
    const stat = statSync(full, { throwIfNoEntry: false });
    if (!stat) continue;
    if (stat.isFile()) {
      const model = bareFileModel(full);
      if (model && !models.has(model.name)) models.set(model.name, model);
    } else if (stat.isDirectory() && NAME_PATTERN.test(entry.name)) {
      const model = scanModelDir(root, entry.name);
      if (model) models.set(model.name, model);
    }
  }
  return models;
}

function scanModelDir(root: string, name: string): RepositoryModel | undefined {
  const dir = path.join(root, name);
  let config: ModelConfig = {};
  let problem: string | undefined;
  const yamlPath = path.join(dir, 'model.yaml');
  if (existsSync(yamlPath)) {
    try {
      config = parseModelConfig(readFileSync(yamlPath, 'utf8'));
    } catch (err) {
      problem = `model.yaml: ${(err as Error).message}`;
    }
  }
  const versions: ModelVersionSource[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const versionDir = path.join(dir, entry.name);
    if (!NAME_PATTERN.test(entry.name) || !isInside(root, versionDir) || !statSync(versionDir, { throwIfNoEntry: false })?.isDirectory()) continue;
    for (const [file, format] of Object.entries(MODEL_FILES)) {
      const modelPath = path.join(versionDir, file);
      if (existsSync(modelPath) && isInside(root, modelPath)) {
        versions.push({ name, version: entry.name, path: modelPath, format, config });
        break;
      }
    }
  }
  if (versions.length === 0 && config.backend) versions.push({ name, version: '1', path: '', format: 'external', config });
  if (versions.length === 0 && !problem) return undefined;
  versions.sort((a, b) => compareVersions(a.version, b.version));
  const latest = versions.at(-1)?.version ?? '1';
  const defaultVersion = config.default_version ?? latest;
  if (versions.length > 0 && !versions.some((v) => v.version === defaultVersion)) {
    problem ??= `model.yaml: default_version '${defaultVersion}' has no directory`;
  }
  return { name, versions, defaultVersion, config, problem };
}

export function parseModelConfig(text: string): ModelConfig {
  const raw = parseYaml(text) ?? {};
  const result = modelConfigSchema.safeParse(raw);
  if (!result.success) {
    throw new Error(describeIssues(result.error, modelConfigSchema).join('; '));
  }
  return result.data;
}

/** Numeric versions sort as numbers, others as text after them. */
function compareVersions(a: string, b: string): number {
  const na = Number(a);
  const nb = Number(b);
  if (Number.isInteger(na) && Number.isInteger(nb)) return na - nb;
  if (Number.isInteger(na)) return -1;
  if (Number.isInteger(nb)) return 1;
  return a.localeCompare(b);
}

function isInside(root: string, candidate: string): boolean {
  let real: string;
  try {
    real = realpathSync(candidate);
  } catch {
    return false;
  }
  return real === root || real.startsWith(root + path.sep);
}
