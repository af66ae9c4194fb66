// Writes dist/build-info.json after the TypeScript build: migbench's own version and the git revision
// of the checkout it was built from, so that meta.json records migbench's revision wherever the package
// is installed (installed as a dependency, a `git rev-parse` at run time would name the consumer's
// repository). Run by `npm run build` (and so by `npm pack` / `npm publish` through `prepack`).
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
// The TypeScript build has just compiled it: the same check the package makes at run time.
const { ownGitRevision } = await import(new URL('../dist/src/version.js', import.meta.url).href);

const g = ownGitRevision(root);
const info = { name: pkg.name, version: pkg.version, git_revision: g.revision, git_dirty: g.dirty, built_at: new Date().toISOString() };
const file = join(root, 'dist', 'build-info.json');
mkdirSync(dirname(file), { recursive: true });
writeFileSync(`${file}.tmp`, JSON.stringify(info, null, 2) + '\n');
renameSync(`${file}.tmp`, file);
