// Where the package lives: bench/ (named matrices) and dist/ (the compiled pool worker) are found from
// the package root, so `npm run bench` and `npx migbench bench` work from any working directory, and
// tests running the TypeScript sources still reach the compiled worker (piscina cannot load .ts files).

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/** The folder holding migbench's package.json. */
export function packageRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'migbench') return (root = dir);
    const up = dirname(dir);
    if (up === dir) throw new Error('migbench: cannot find the package root (package.json)');
    dir = up;
  }
}

/** The compiled pool worker: beside this module when compiled, else under dist/ (run `npm run build`). */
export function workerFile(): string {
  const here = fileURLToPath(import.meta.url);
  const file = here.endsWith('.ts') ? join(packageRoot(), 'dist', 'src', 'bench', 'worker.js') : join(dirname(here), 'worker.js');
  if (!existsSync(file)) throw new Error(`migbench: the bench worker ${file} is missing; run \`npm run build\` first`);
  return file;
}
