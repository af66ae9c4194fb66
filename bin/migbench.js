#!/usr/bin/env node
// Entry point for `npx migbench`: runs the compiled CLI. The published package ships dist/ (built by
// `prepack`); a git checkout builds it with `npm run build` (`npm test` and `npm run bench` do so first).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write('migbench: dist/ is missing; in a git checkout, run `npm run build` first\n');
  process.exit(2);
}
const { run } = await import(main.href);
process.exitCode = await run(process.argv);
