// Writing report files atomically: write a temp file beside the target, then rename over it, so a
// reader never sees a half-written file and a failed run leaves the previous file intact.
import { accessSync, constants, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { InputError, MigbenchError } from '../errors.js';

export function writeFileAtomic(path: string, content: string | Uint8Array): void {
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(tmp, content);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new MigbenchError('E_IO', `cannot write ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** Create `dir` if needed and check that it is writable; `source` names the flag for the error. */
export function ensureWritableDir(dir: string, source: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
  } catch (err) {
    throw new InputError({ source, expected: 'a folder that exists or can be created, and is writable', got: dir, detail: (err as Error).message });
  }
}
