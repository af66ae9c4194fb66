// Writing report files atomically: write a temp file beside the target, then rename over it, so a
// reader never sees a half-written file and a failed run leaves the previous file intact.
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { MigbenchError } from '../errors.js';

export function writeFileAtomic(path: string, content: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  try {
    writeFileSync(tmp, content);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new MigbenchError('E_IO', `cannot write ${path}: ${(err as Error).message}`, { cause: err });
  }
}
