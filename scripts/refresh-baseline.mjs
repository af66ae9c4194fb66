#!/usr/bin/env node
// `npm run baseline:refresh`: make reports/baseline/ (what the nightly compares with) from the nightly
// matrix, from a clean checkout only. A baseline made from uncommitted code cannot be reproduced or
// traced to a commit, so this refuses a tree with any change, tracked or untracked (ignored files such as
// dist/ and reports/ do not count). It builds, benches the nightly matrix into a temporary folder, checks
// that the report names this commit with a clean tree, and only then replaces reports/baseline/runs.csv
// and meta.json; committing them is left to you.
//
//   node scripts/refresh-baseline.mjs [--dry-run] [--threads N]
//
// Exit status: 0 done (or, with --dry-run, would be done), 2 refused (dirty tree, not a git checkout of
// migbench), 1 the build or the bench failed.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, realpathSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const args = process.argv.slice(2);
const dryRun = args.includes('--dry-run');
const threadsAt = args.indexOf('--threads');
const threads = threadsAt >= 0 ? args[threadsAt + 1] : undefined;

function refuse(message) {
  process.stderr.write(`baseline:refresh: refusing: ${message}\n`);
  process.exit(2);
}
const git = (...a) => execFileSync('git', a, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

let top;
try {
  top = git('rev-parse', '--show-toplevel');
} catch {
  refuse(`${root} is not a git checkout (a baseline must name the commit it was made from)`);
}
if (realpathSync(top) !== realpathSync(root)) refuse(`${root} is inside another repository (${top}), not a checkout of migbench`);
// Not trimmed: each line is "XY path", and X may be a space.
const status = execFileSync('git', ['status', '--porcelain'], { cwd: root, encoding: 'utf8' }).replace(/\n$/, '');
if (status !== '') {
  const files = status.split('\n');
  refuse(`the working tree has ${files.length} uncommitted change${files.length === 1 ? '' : 's'} (${files.slice(0, 5).map((l) => l.slice(3)).join(', ')}${files.length > 5 ? ', ...' : ''}); commit or stash them first: a baseline must come from a commit`);
}
const head = git('rev-parse', 'HEAD');
const run = (cmd, a) => {
  process.stderr.write(`baseline:refresh: ${cmd} ${a.join(' ')}\n`);
  if (dryRun) return;
  const r = spawnSync(cmd, a, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    process.stderr.write(`baseline:refresh: ${cmd} ${a.join(' ')} failed (exit ${r.status}); reports/baseline/ unchanged\n`);
    process.exit(1);
  }
};

const work = dryRun ? join(tmpdir(), 'migbench-baseline-XXXX') : mkdtempSync(join(tmpdir(), 'migbench-baseline-'));
run('npm', ['run', 'build']);
run(process.execPath, ['bin/migbench.js', 'bench', '--matrix', 'nightly', '--reports', work, '--name', 'baseline', '--progress-interval', '30s', ...(threads ? ['--threads', threads] : [])]);
if (dryRun) {
  process.stderr.write(`baseline:refresh: --dry-run: the tree is clean at ${head}; would replace reports/baseline/runs.csv and meta.json\n`);
  process.exit(0);
}
const made = join(work, 'baseline');
const meta = JSON.parse(readFileSync(join(made, 'meta.json'), 'utf8'));
const problems = [
  meta.git_revision !== head && `it names revision ${meta.git_revision}, not HEAD ${head}`,
  meta.git_dirty !== false && 'it does not record a clean tree',
  meta.interrupted !== false && 'it was interrupted',
  meta.shard !== null && `it is shard ${meta.shard}`,
  meta.matrix?.name !== 'nightly' && `it is of matrix ${meta.matrix?.name}`,
].filter(Boolean);
if (problems.length > 0) {
  process.stderr.write(`baseline:refresh: the new report cannot be the baseline: ${problems.join('; ')}; reports/baseline/ unchanged (the report is in ${made})\n`);
  process.exit(1);
}
for (const f of ['runs.csv', 'meta.json']) {
  const dest = join(root, 'reports', 'baseline', f);
  copyFileSync(join(made, f), `${dest}.tmp`);
  renameSync(`${dest}.tmp`, dest);
}
rmSync(work, { recursive: true, force: true });
process.stderr.write(
  `baseline:refresh: reports/baseline/ now holds the nightly matrix at ${head.slice(0, 12)} (${meta.runs_finished} runs). Commit it:\n` +
    `  git add reports/baseline/runs.csv reports/baseline/meta.json && git commit -m "Baseline refreshed at ${head.slice(0, 12)}"\n`,
);
