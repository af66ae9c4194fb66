// `node dist/bench/nightly-check.js`: the nightly's figures against their baselines and thresholds
// (bench/nightly-thresholds.json). It reads what the night's jobs wrote — the sim benches' compare.json
// and meta.json, bench:transport's CSV (ratio to iperf3 measured in the same job, CPU seconds per GiB),
// bench:real's report (verified runs, downtime, total time against the link, the simulator's
// prediction) — prints a Markdown table (for $GITHUB_STEP_SUMMARY), writes the night's rows for the
// history CSV, and exits 1 when a figure is past its limit.
//
//   node dist/bench/nightly-check.js [--sim DIR]... [--transport FILE] [--real DIR]
//        [--thresholds FILE] [--rows FILE] [--date ISO] [--revision SHA] [--run-id ID]

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { median } from 'simple-statistics';
import { packageRoot } from '../src/bench/paths.js';
import { InputError } from '../src/errors.js';
import { writeFileAtomic } from '../src/report/files.js';
import { historyCsv, type HistoryRow } from '../src/report/history.js';
import { buildInfo } from '../src/version.js';

interface Limit {
  unit: string;
  baseline?: number;
  min?: number;
  max?: number;
  what: string;
}

const argv = process.argv.slice(2);
const many = (name: string): string[] => argv.flatMap((a, i) => (a === name && argv[i + 1] ? [argv[i + 1]!] : []));
const one = (name: string): string | undefined => many(name)[0];

const thresholdsFile = one('--thresholds') ?? join(packageRoot(), 'bench', 'nightly-thresholds.json');
const limits = JSON.parse(readFileSync(thresholdsFile, 'utf8')) as Record<string, Limit>;
const date = one('--date') ?? new Date().toISOString();
const revision = one('--revision') ?? buildInfo(packageRoot()).git_revision ?? '';
const runId = one('--run-id') ?? process.env['GITHUB_RUN_ID'] ?? '';

const figures = new Map<string, number | null>();
const csv = (file: string): Record<string, string>[] => parse(readFileSync(file, 'utf8'), { columns: true, skip_empty_lines: true }) as Record<string, string>[];
const need = (file: string, what: string): string => {
  if (!existsSync(file)) throw new InputError({ source: file, expected: what });
  return file;
};

// Sim benches: regressions found by compare, and the CPU-time ratio's change over all scenarios.
const sims = many('--sim');
if (sims.length > 0) {
  let worse = 0;
  const change: number[] = [];
  const refCpu: number[] = [];
  for (const dir of sims) {
    const cmp = JSON.parse(readFileSync(need(join(dir, 'compare.json'), 'a compare.json written by `migbench compare --json`'), 'utf8')) as {
      refused: boolean;
      counts?: { worse: number };
      overall?: { scenario: string; metric: string; change_pct: number | null }[];
    };
    worse += cmp.refused ? Infinity : (cmp.counts?.worse ?? 0);
    const all = cmp.overall?.find((r) => r.metric === 'harness_cpu_ratio');
    if (all?.change_pct != null) change.push(all.change_pct);
    const meta = JSON.parse(readFileSync(need(join(dir, 'meta.json'), 'a bench report folder'), 'utf8')) as { reference_workload?: { cpu_median_ms: number | null } };
    if (typeof meta.reference_workload?.cpu_median_ms === 'number') refCpu.push(meta.reference_workload.cpu_median_ms);
  }
  figures.set('sim.compare_worse', Number.isFinite(worse) ? worse : null);
  figures.set('sim.cpu_ratio_change_pct', change.length ? Math.max(...change) : null);
  figures.set('sim.reference_cpu_ms', refCpu.length ? median(refCpu) : null);
}

// bench:transport: the plain rows, per channel count.
const transport = one('--transport');
if (transport) {
  for (const r of csv(need(transport, 'a bench-transport.csv'))) {
    if (r['config'] !== 'plain') continue;
    const n = r['channels'];
    const v = (k: string): number | null => (r[k] === '' || r[k] === undefined ? null : Number(r[k]));
    figures.set(`transport.gbps_${n}ch`, v('migbench_gbps'));
    figures.set(`transport.ratio_vs_iperf3_${n}ch`, v('ratio_vs_iperf3'));
    figures.set(`transport.cpu_s_per_gib_${n}ch`, v('migbench_cpu_s_per_gib'));
    figures.set(`transport.cpu_ratio_vs_iperf3_${n}ch`, v('cpu_ratio_vs_iperf3'));
  }
}

// bench:real: every run verified, downtime, total time against the link, the simulator's accuracy.
const real = one('--real');
if (real) {
  const runs = csv(need(join(real, 'runs.csv'), 'a bench:real report folder'));
  const cmp = csv(need(join(real, 'comparison.csv'), 'a bench:real report folder with comparison.csv'));
  const nums = (rows: Record<string, string>[], k: string): number[] => rows.map((row) => Number(row[k])).filter((x) => Number.isFinite(x) && x > 0);
  figures.set('real.verified_share', runs.length ? runs.filter((x) => x['verified'] === 'true').length / runs.length : null);
  const down = nums(runs, 'downtime_ms');
  figures.set('real.downtime_ms_median', down.length ? median(down) : null);
  const bound = nums(cmp, 'total_vs_goodput_bound');
  figures.set('real.total_vs_goodput_bound_median', bound.length ? median(bound) : null);
  const ratio = nums(cmp, 'total_time_ratio');
  figures.set('real.sim_total_error_pct', ratio.length ? 100 * Math.abs(1 / median(ratio) - 1) : null);
}

const rows: HistoryRow[] = [...figures].map(([metric, value]) => {
  const l = limits[metric];
  const limit = l?.min ?? l?.max ?? null;
  const kind = l?.min !== undefined ? 'min' : l?.max !== undefined ? 'max' : '';
  const fail = value !== null && ((l?.min !== undefined && value < l.min) || (l?.max !== undefined && value > l.max));
  return { date, git_revision: revision, run_id: runId, metric, value, unit: l?.unit ?? '', baseline: l?.baseline ?? null, limit, limit_kind: kind, status: value === null ? 'missing' : fail ? 'fail' : 'ok' };
});
// A figure with a limit that could not be measured is missing, and fails: a broken bench must not pass.
for (const [metric, l] of Object.entries(limits)) {
  const group = metric.split('.')[0];
  const ran = (group === 'sim' && sims.length > 0) || (group === 'transport' && transport) || (group === 'real' && real);
  if (ran && !figures.has(metric)) rows.push({ date, git_revision: revision, run_id: runId, metric, value: null, unit: l.unit, baseline: l.baseline ?? null, limit: l.min ?? l.max ?? null, limit_kind: l.min !== undefined ? 'min' : 'max', status: 'missing' });
}

const out = one('--rows');
if (out) writeFileAtomic(out, historyCsv(rows));
const bad = rows.filter((r) => (r.status === 'fail' || r.status === 'missing') && r.limit !== null);
const fmt = (v: number | null): string => (v === null ? '-' : Number(v.toPrecision(4)).toString());
process.stdout.write(`### migbench nightly: ${bad.length === 0 ? '✅ every figure within its limit' : `❌ ${bad.length} figure${bad.length === 1 ? '' : 's'} past its limit`}\n\n`);
process.stdout.write('| figure | value | baseline | limit | status | what |\n|---|---:|---:|---:|---|---|\n');
for (const r of rows) process.stdout.write(`| \`${r.metric}\` | ${fmt(r.value)} ${r.unit} | ${fmt(r.baseline)} | ${r.limit_kind ? `${r.limit_kind} ${fmt(r.limit)}` : ''} | ${r.status} | ${limits[r.metric]?.what ?? ''} |\n`);
process.exitCode = bad.length > 0 ? 1 : 0;
