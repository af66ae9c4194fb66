// What a user installs: the published file list (package.json `files`), no build at install time, and
// meta.json's revision being migbench's own even when the package sits inside another git repository.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildInfo, ownGitRevision, readBuildRecord } from '../../src/version.js';

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string>; dependencies: Record<string, string>; files: string[] };

describe('the package', () => {
  it('packs dist, bin, the named matrices, docs, README and LICENSE, and nothing of the development tree', () => {
    // --ignore-scripts: list what `npm pack` would include from the dist/ that `npm test` built, without rebuilding it.
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const files = (JSON.parse(out) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
    for (const f of ['package.json', 'README.md', 'LICENSE', 'bin/migbench.js', 'dist/src/cli/main.js', 'dist/src/index.d.ts', 'dist/src/bench/worker.js', 'dist/build-info.json', 'bench/default.yaml', 'bench/nightly.yaml', 'bench/matrix.schema.json', 'docs/csv.md']) {
      expect(files, f).toContain(f);
    }
    for (const f of files) {
      expect(f, f).not.toMatch(/^(test|\.ci|\.github|reports|src|scripts)\//);
      expect(f, f).not.toMatch(/\.map$|\.ts$(?<!\.d\.ts$)/);
    }
  });

  it('builds when packed (prepack), not when installed (no prepare, preinstall, install or postinstall)', () => {
    expect(pkg.scripts['prepack']).toBe('npm run build');
    for (const s of ['prepare', 'preinstall', 'install', 'postinstall']) expect(pkg.scripts[s], s).toBeUndefined();
    // A fresh clone still builds before the tests and the bench.
    expect(pkg.scripts['pretest']).toMatch(/npm run build/);
    expect(pkg.scripts['prebench']).toMatch(/npm run build/);
  });

  it('has no @stdlib dependency', () => {
    expect(Object.keys(pkg.dependencies).filter((d) => d.startsWith('@stdlib/'))).toEqual([]);
  });
});

describe("migbench's revision", () => {
  const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();

  /** A consumer's git repository with migbench installed under node_modules/ (package.json, no .git). */
  function consumer(withRecord: boolean): { repo: string; installed: string } {
    const repo = mkdtempSync(join(tmpdir(), 'migbench-consumer-'));
    git(repo, 'init', '-q');
    writeFileSync(join(repo, 'app.js'), '1\n');
    git(repo, '-c', 'user.email=a@b', '-c', 'user.name=a', 'add', '.');
    git(repo, '-c', 'user.email=a@b', '-c', 'user.name=a', 'commit', '-qm', 'consumer');
    const installed = join(repo, 'node_modules', 'migbench');
    mkdirSync(join(installed, 'dist'), { recursive: true });
    cpSync('package.json', join(installed, 'package.json'));
    if (withRecord) writeFileSync(join(installed, 'dist', 'build-info.json'), JSON.stringify({ name: 'migbench', version: '0.1.0', git_revision: 'a'.repeat(40), git_dirty: false }));
    return { repo, installed };
  }

  it("installed inside another repository: the build's record, never the consumer's revision", () => {
    const { repo, installed } = consumer(true);
    const theirs = git(repo, 'rev-parse', 'HEAD');
    expect(ownGitRevision(installed)).toEqual({ revision: null, dirty: null });
    for (const fromSource of [true, false]) {
      const b = buildInfo(installed, fromSource);
      expect(b).toEqual({ git_revision: 'a'.repeat(40), git_dirty: false, source: 'build' });
      expect(b.git_revision).not.toBe(theirs);
    }
  });

  it('installed without a build record: unknown (null), not the consumer\'s revision', () => {
    const { installed } = consumer(false);
    expect(readBuildRecord(installed)).toBeNull();
    expect(buildInfo(installed, false)).toEqual({ git_revision: null, git_dirty: null, source: 'none' });
  });

  it("in migbench's own checkout: its own HEAD", () => {
    const head = git('.', 'rev-parse', 'HEAD');
    expect(buildInfo(process.cwd(), true)).toMatchObject({ git_revision: head, source: 'git' });
    // `npm test` builds first, so the compiled code's record names the same commit.
    expect(readBuildRecord(process.cwd())?.git_revision).toBe(head);
  });
});
