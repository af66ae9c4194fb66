// `npm run baseline:refresh` refuses a dirty tree (a baseline must come from a commit). Checked with
// --dry-run in a clone of this repository, so nothing is built or benched here.
import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

describe('scripts/refresh-baseline.mjs', () => {
  const clone = join(mkdtempSync(join(tmpdir(), 'migbench-refresh-')), 'repo');
  execFileSync('git', ['clone', '--quiet', '--no-hardlinks', process.cwd(), clone], { stdio: 'ignore' });
  const refresh = () => spawnSync(process.execPath, ['scripts/refresh-baseline.mjs', '--dry-run'], { cwd: clone, encoding: 'utf8' });

  it('on a clean tree: would build, bench the nightly matrix and replace the baseline', () => {
    const r = refresh();
    expect(r.stderr).toContain('bin/migbench.js bench --matrix nightly');
    expect(r.stderr).toMatch(/--dry-run: the tree is clean at [0-9a-f]{40}; would replace reports\/baseline\/runs\.csv and meta\.json/);
    expect(r.status).toBe(0);
  });

  it('refuses (exit 2) a tracked change, and an untracked file, naming them', () => {
    appendFileSync(join(clone, 'README.md'), '\nlocal edit\n');
    const tracked = refresh();
    expect(tracked.status).toBe(2);
    expect(tracked.stderr).toMatch(/refusing: the working tree has 1 uncommitted change \(README\.md\); commit or stash them first/);
    execFileSync('git', ['checkout', '--', 'README.md'], { cwd: clone });
    writeFileSync(join(clone, 'src', 'new.ts'), 'export {};\n');
    const untracked = refresh();
    expect(untracked.status).toBe(2);
    expect(untracked.stderr).toContain('src/new.ts');
  });
});
