// `npm run bench:micro`: micro-benchmarks of the hot paths (bench/micro/cases.ts) with tinybench.
// Prints a table and writes reports/micro.csv (atomically). Options: --time MS per case (default 500),
// --filter TEXT (cases whose name contains it). Figures are for people; nothing is asserted.

import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { Bench } from 'tinybench';
import { toCsv } from '../src/report/csv.js';
import { writeFileAtomic } from '../src/report/files.js';
import { table } from '../src/report/table.js';
import { MICRO_CASES, MICRO_COLUMNS } from './micro/cases.js';

const { values } = parseArgs({ options: { time: { type: 'string', default: '500' }, filter: { type: 'string', default: '' }, out: { type: 'string', default: 'reports/micro.csv' } } });
const time = Number(values.time);
if (!(time > 0)) {
  process.stderr.write(`bench:micro: --time expects milliseconds > 0, got ${values.time}\n`);
  process.exit(2);
}
const cases = MICRO_CASES.filter((c) => c.name.includes(values.filter));
const bench = new Bench({ time, warmup: true });
for (const c of cases) {
  const { fn, beforeEach } = c.setup();
  bench.add(c.name, fn, beforeEach ? { beforeEach } : {});
}
process.stdout.write(`bench:micro: ${cases.length} cases, ${time} ms each, on ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}\n\n`);
await bench.run();

const rows = bench.tasks.map((t, i) => {
  const r = t.result;
  if (r.state !== 'completed') throw new Error(`bench:micro: ${t.name} ${r.state}${'error' in r ? `: ${String(r.error)}` : ''}`);
  return {
    case: t.name,
    what: cases[i]!.what,
    samples: r.latency.samplesCount,
    mean_ns: Math.round(r.latency.mean * 1e6),
    median_ns: Math.round(r.latency.p50 * 1e6),
    p99_ns: Math.round(r.latency.p99 * 1e6),
    ops_per_s: Math.round(r.throughput.mean),
    rme_pct: Math.round(r.latency.rme * 100) / 100,
  };
});
const fmt = (ns: number): string => (ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : ns >= 1e3 ? `${(ns / 1e3).toFixed(1)} us` : `${ns} ns`);
process.stdout.write(table(['case', 'mean', 'median', 'p99', 'ops/s', '±%', 'samples'], rows.map((r) => [r.case, fmt(r.mean_ns), fmt(r.median_ns), fmt(r.p99_ns), r.ops_per_s, r.rme_pct.toFixed(2), r.samples])));
writeFileAtomic(values.out, toCsv(MICRO_COLUMNS, rows));
process.stdout.write(`\nwrote ${values.out}\n`);
