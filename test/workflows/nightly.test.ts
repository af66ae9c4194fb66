// The nightly workflow is valid (checked offline by @action-validator/cli against GitHub's workflow
// schema) and does what docs/bench.md says it does.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

const DIR = '.github/workflows';
const validator = join('node_modules', '.bin', 'action-validator');

describe('.github/workflows', () => {
  it.each(readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f)))('%s passes action-validator', (file) => {
    // Throws (exit 1, the errors as JSON) on a schema error, an unknown job in `needs`, and the like.
    expect(() => execFileSync(validator, [join(DIR, file)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })).not.toThrow();
  });

  it('action-validator does fail on a broken workflow (so the check above can fail)', () => {
    const broken = join(process.env['TMPDIR'] ?? '/tmp', 'broken-workflow.yml');
    writeFileSync(broken, 'name: x\non: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    needs: [nosuch]\n    steps:\n      - run: echo\n        whith: 1\n');
    expect(() => execFileSync(validator, [broken], { stdio: 'pipe' })).toThrow();
  });
});

describe('nightly.yml', () => {
  type Step = { uses?: string; run?: string; with?: Record<string, unknown>; if?: string };
  type Job = { needs?: string | string[]; steps: Step[]; strategy?: { matrix: Record<string, unknown[]> } };
  const wf = parse(readFileSync(join(DIR, 'nightly.yml'), 'utf8')) as { env: Record<string, string>; jobs: Record<string, Job> };
  const runs = (job: string) => wf.jobs[job]!.steps.map((s) => s.run ?? '').join('\n');

  it('uses a Node LTS that is not end of life (22 or 24) through actions/setup-node', () => {
    expect(['22', '24']).toContain(String(wf.env['NODE_VERSION']));
    for (const [name, job] of Object.entries(wf.jobs)) {
      const setup = job.steps.find((s) => s.uses?.startsWith('actions/setup-node@'));
      expect(setup?.with?.['node-version'], name).toBe('${{ env.NODE_VERSION }}');
    }
  });

  it('builds once and hands dist/ to the other jobs', () => {
    const building = Object.entries(wf.jobs).filter(([, j]) => /npm run build|npm run bench\b|npm test/.test(j.steps.map((s) => s.run ?? '').join('\n')));
    expect(building.map(([n]) => n)).toEqual(['build']);
    for (const job of ['sim', 'transport', 'real', 'history']) {
      expect(wf.jobs[job]!.steps.some((s) => s.uses?.startsWith('actions/download-artifact@') && s.with?.['name'] === 'dist'), job).toBe(true);
    }
  });

  it('benches the sim in shards and compares each with the baseline into the job summary', () => {
    expect(wf.jobs['sim']!.strategy!.matrix['shard']).toEqual([1, 2]);
    expect(runs('sim')).toMatch(/migbench\.js bench --matrix nightly --shard \$\{\{ matrix\.shard \}\}\/2/);
    expect(runs('sim')).toMatch(/compare reports\/baseline reports\/nightly-\$\{\{ matrix\.shard \}\} --markdown >> "\$GITHUB_STEP_SUMMARY"/);
    expect(runs('sim')).toMatch(/exit \$code/); // the comparison's verdict is the job's
  });

  it('benches the real transport beside iperf3 and real migrations, and keeps a history with a trend chart', () => {
    expect(runs('transport')).toMatch(/apt-get install .*iperf3/);
    expect(runs('transport')).toMatch(/dist\/bench\/transport\.js --quick/);
    expect(runs('real')).toMatch(/dist\/bench\/real\.js --quick/);
    expect(runs('history')).toMatch(/nightly-check\.js .*--rows night\.csv/);
    expect(runs('history')).toMatch(/history\.js --history history\/history\.csv --add night\.csv --html history\/history\.html/);
    const upload = wf.jobs['history']!.steps.find((s) => s.uses?.startsWith('actions/upload-artifact@'));
    expect(upload?.with).toMatchObject({ name: 'history', path: 'history/' });
    expect(wf.jobs['history']!.steps.some((s) => s.uses?.startsWith('actions/download-artifact@') && s.with?.['name'] === 'history' && s.with?.['run-id'])).toBe(true);
  });
});
