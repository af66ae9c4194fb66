// The package version, read once from package.json (kept in one place), and the build it came from:
// migbench's own git revision, recorded in dist/build-info.json when the package is built
// (scripts/build-info.mjs). Never a `git` of the working directory: installed as a dependency, that
// would be the consumer's repository.
import { execFileSync } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

function readVersion(): string {
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'migbench' && pkg.version) return pkg.version;
    } catch {
      // try the next location (src/ when run from source, dist/src/ when compiled)
    }
  }
  return '0.0.0';
}

export const VERSION = readVersion();

export interface BuildInfo {
  /** migbench's git revision, or null when it was not built from a git checkout of itself. */
  git_revision: string | null;
  /** The checkout had uncommitted changes to tracked files; null when unknown. */
  git_dirty: boolean | null;
  /** Where the revision came from: the build's record, the package's own git checkout, or nowhere. */
  source: 'build' | 'git' | 'none';
}

/** The revision of `root` when `root` is the top of its own git work tree (not a folder inside another repository). */
export function ownGitRevision(root: string): { revision: string | null; dirty: boolean | null } {
  const opts = { cwd: root, encoding: 'utf8' as const, stdio: ['ignore', 'pipe', 'ignore'] as ['ignore', 'pipe', 'ignore'], timeout: 5000 };
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

/** dist/build-info.json under `root`, or null. */
export function readBuildRecord(root: string): { git_revision: string | null; git_dirty: boolean | null } | null {
  try {
    const j = JSON.parse(readFileSync(join(root, 'dist', 'build-info.json'), 'utf8')) as { name?: string; git_revision?: unknown; git_dirty?: unknown };
    if (j.name !== 'migbench') return null;
    return { git_revision: typeof j.git_revision === 'string' ? j.git_revision : null, git_dirty: typeof j.git_dirty === 'boolean' ? j.git_dirty : null };
  } catch {
    return null;
  }
}

/**
 * migbench's build. Compiled code (dist/) trusts the build's record first; the TypeScript sources (tests)
 * ask the package's own checkout first, since dist/ may be older than the sources. Either way, a git
 * repository that merely contains the package (a consumer's) is never asked.
 */
export function buildInfo(root: string, fromSource = fileURLToPath(import.meta.url).endsWith('.ts')): BuildInfo {
  const record = readBuildRecord(root);
  const live = (): BuildInfo | null => {
    const g = ownGitRevision(root);
    return g.revision ? { git_revision: g.revision, git_dirty: g.dirty, source: 'git' } : null;
  };
  const recorded = (): BuildInfo | null => (record ? { ...record, source: 'build' } : null);
  return (fromSource ? (live() ?? recorded()) : (recorded() ?? live())) ?? { git_revision: null, git_dirty: null, source: 'none' };
}
