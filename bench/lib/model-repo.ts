/**
 * A temporary model repository for a benchmark: `put(name, write)` creates `<dir>/<name>/1/model.onnx`
 * with the given writer (a generated model, or a copy of a shared one) and returns its path.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface BenchRepo {
  dir: string;
  put(name: string, write: (file: string) => void): string;
}

export function benchRepo(prefix: string): BenchRepo {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  return {
    dir,
    put(name, write) {
      mkdirSync(path.join(dir, name, '1'), { recursive: true });
      const file = path.join(dir, name, '1', 'model.onnx');
      write(file);
      return file;
    },
  };
}
