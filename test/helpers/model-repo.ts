/** Builds a throw-away model repository in a temp directory. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface TempRepo {
  dir: string;
  /** Path of DIR/<name>/<version>/model.onnx, its directories created. */
  versionPath(name: string, version: string, file?: string): string;
  modelYaml(name: string, yaml: string): void;
  remove(): void;
}

export function tempRepo(prefix = 'forja-repo-'): TempRepo {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  return {
    dir,
    versionPath(name, version, file = 'model.onnx') {
      const versionDir = path.join(dir, name, version);
      mkdirSync(versionDir, { recursive: true });
      return path.join(versionDir, file);
    },
    modelYaml(name, yaml) {
      mkdirSync(path.join(dir, name), { recursive: true });
      writeFileSync(path.join(dir, name, 'model.yaml'), yaml);
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
