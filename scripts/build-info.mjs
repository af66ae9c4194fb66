// Writes dist/build-info.json after the TypeScript build: migbench's own version and the git revision
// of the checkout it was built from, so that meta.json records migbench's revision wherever the package
// is installed (installed as a dependency, a `git rev-parse` at run time would name the consumer's
// repository). Run by `npm run build` (and so by `npm pack` / `npm publish` through `prepack`).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, realpathSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/** The revision of `root` when `root` is the top of its own git work tree, else nulls. */
function git() {
  const opts = { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 };
  try {
    const top = execFileSync('git', ['rev-parse', '--show-toplevel'], opts).trim();
    if (realpathSync(top) !== realpathSync(root)) return { revision: null, dirty: null };
    const revision = execFileSync('git', ['rev-parse', 'HEAD'], opts).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], opts).trim() !== '';
    return { revision, dirty };
  } catch {
    return { revision: null, dirty: null };
  }
}

const g = git();
const info = { name: pkg.name, version: pkg.version, git_revision: g.revision, git_dirty: g.dirty, built_at: new Date().toISOString() };
const file = join(root, 'dist', 'build-info.json');
mkdirSync(dirname(file), { recursive: true });
writeFileSync(`${file}.tmp`, JSON.stringify(info, null, 2) + '\n');
renameSync(`${file}.tmp`, file);
