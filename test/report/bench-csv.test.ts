import { describe, expect, it } from 'vitest';
import { parse } from 'csv-parse/sync';
import { parseMatrix } from '../../src/bench/matrix.js';
import { planMatrix } from '../../src/bench/plan.js';
import { runBench } from '../../src/bench/runner.js';
import { summarize } from '../../src/bench/aggregate.js';
import { metricColumns } from '../../src/bench/columns.js';
import { BENCH_EXTRA_COLUMNS, BENCH_ROUND_COLUMNS, BENCH_RUN_COLUMNS, benchRoundsCsv, benchRunRecords, benchRunsCsv, readRunsCsv, SUMMARY_COLUMNS, summaryCsv } from '../../src/report/bench-csv.js';
import { RUN_COLUMNS, toCsv } from '../../src/report/csv.js';
import { formatNumber, precisionOf, roundFor } from '../../src/report/numbers.js';
import { VERSION } from '../../src/version.js';

// VM and policy names with a comma, double quotes, a line break and a leading space.
const MATRIX = `
repeats: 2
axes:
  modes: [cluster]
  networks: [1g]
  transports: [tcp]
  workloads: [idle, churn]
  vms:
    - { name: "small, \\"odd\\" VM\\nsecond line", memory: 512MiB }
  policies:
    - { name: " xen, strict", policy: xen }
set: { onNoConverge: abort }
`;

describe('bench CSV files', async () => {
  const plan = planMatrix(parseMatrix(MATRIX, 'edge.yaml', 'yaml'));
  const outcome = await runBench(plan, { threads: 1 });
  const ctx = { reportId: 'r-1', referenceMs: outcome.reference!.median_ms };
  const records = benchRunRecords(outcome.runs, ctx);
  const text = benchRunsCsv(outcome.runs, ctx);
  /** A record as written: numbers rounded for their column. */
  const written = (r: Record<string, unknown>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'number' ? roundFor(k, v) : v]));

  it('runs.csv survives a round trip through a real CSV parser, quoting edge cases included', () => {
    const parsed = parse(text, { columns: true }) as Record<string, string>[];
    expect(parsed).toHaveLength(4);
    expect(Object.keys(parsed[0]!)).toEqual([...BENCH_RUN_COLUMNS]);
    expect(parsed[0]!['vm_label']).toBe('small, "odd" VM\nsecond line');
    expect(parsed[0]!['policy_label']).toBe(' xen, strict');
    expect(parsed[0]!['run_id']).toBe('cluster/1g/tcp/idle/small, "odd" VM\nsecond line/ xen, strict#0');
    parsed.forEach((p, i) => {
      for (const c of BENCH_RUN_COLUMNS) {
        const v = records[i]![c];
        expect(p[c], c).toBe(v === null ? '' : typeof v === 'number' ? formatNumber(v, precisionOf(c)) : String(v));
      }
    });
    // The typed reader used by `compare` gives back the records, rounded as written.
    expect(readRunsCsv(text)).toEqual(records.map(written));
  });

  it('every runs.csv row names its report and migbench version, and the link and throughput it had', () => {
    const rows = parse(text, { columns: true }) as Record<string, string>[];
    for (const r of rows) {
      expect(r['report_id']).toBe('r-1');
      expect(r['migbench_version']).toBe(VERSION);
      // One 1GbE NIC, one TCP stream: 1e9 x (1500 - 52) / (1500 + 38) bits/s of payload.
      expect(Number(r['link_payload_rate_bps'])).toBe(Math.round((1e9 * 1448) / 1538));
      expect(Number(r['memory_throughput_bps'])).toBeGreaterThan(0);
      expect(Number(r['memory_throughput_bps'])).toBeLessThanOrEqual(Number(r['link_payload_rate_bps']) * 1.0001);
      expect(r['storage_throughput_bps']).toBe(''); // a cluster move copies no storage
      expect(Number(r['harness_wall_ratio'])).toBeGreaterThan(0);
    }
  });

  it('never writes exponent notation, and rounds to the digits that mean something for the unit', () => {
    expect(text).not.toMatch(/\d[eE][-+]?\d/);
    const csv = toCsv(['total_time_s', 'downtime_ms', 'memory_bytes_sent', 'stdev', 'p_value', 'big_bytes', 'throttle'], [
      { total_time_s: 6.783727554123, downtime_ms: 46.28612345678, memory_bytes_sent: 441126972.4, stdev: 5.4e-16, p_value: 1.23456e-7, big_bytes: 1e22, throttle: 1 / 3 },
      { total_time_s: 1e-7, downtime_ms: -0.0000001, memory_bytes_sent: 0, stdev: 123456789.123, p_value: 1e-40, big_bytes: 2.5e-7, throttle: 0.2 },
    ]);
    const lines = csv.trim().split('\r\n');
    expect(lines[1]).toBe('6.783728,46.28612,441126972,0,0.000000123,10000000000000000000000,0.333333');
    expect(lines[2]).toBe('0.0000001,0,0,123456789,0,0,0.2');
  });

  it('is RFC 4180: CRLF record ends, an embedded line break quoted, booleans true/false, null empty', () => {
    expect(text.endsWith('\r\n')).toBe(true);
    expect(text).toContain('"small, ""odd"" VM\nsecond line"');
    const rows = parse(text, { columns: true }) as Record<string, string>[];
    // churn under xen with --on-no-converge abort rolls back: converged false, memory_verified null.
    const churn = rows.find((r) => r['workload'] === 'churn')!;
    expect(churn['outcome']).toBe('rolled_back');
    expect(churn['converged']).toBe('false');
    expect(churn['memory_verified']).toBe('');
    expect(rows.find((r) => r['workload'] === 'idle')!['converged']).toBe('true');
  });

  it('runs.csv holds every RUN_COLUMNS field after the bench columns, and the later bench columns at the end', () => {
    expect(BENCH_RUN_COLUMNS.slice(0, 6)).toEqual(['run_id', 'scenario', 'repeat', 'vm_label', 'policy_label', 'harness_wall_ms']);
    expect(BENCH_RUN_COLUMNS.slice(6, 6 + RUN_COLUMNS.length)).toEqual([...RUN_COLUMNS]);
    expect(BENCH_RUN_COLUMNS.slice(6 + RUN_COLUMNS.length)).toEqual([...BENCH_EXTRA_COLUMNS]);
  });

  it('rounds.csv has one row per round of every run, keyed by run id, with the scenario labels', () => {
    const rows = parse(benchRoundsCsv(outcome.runs), { columns: true }) as Record<string, string>[];
    expect(Object.keys(rows[0]!)).toEqual([...BENCH_ROUND_COLUMNS]);
    expect(rows).toHaveLength(outcome.runs.reduce((n, r) => n + r.result.rounds.length, 0));
    expect(new Set(rows.map((r) => r['run_id']))).toEqual(new Set(records.map((r) => r['run_id'])));
    expect(new Set(rows.map((r) => r['vm_label']))).toEqual(new Set(['small, "odd" VM\nsecond line']));
    expect(new Set(rows.map((r) => r['policy_label']))).toEqual(new Set([' xen, strict']));
  });

  it('summary.csv has one row per scenario and metric with the documented columns', () => {
    const summary = summarize(records, metricColumns(BENCH_RUN_COLUMNS, records));
    const rows = parse(summaryCsv(summary), { columns: true }) as Record<string, string>[];
    expect(Object.keys(rows[0]!)).toEqual([...SUMMARY_COLUMNS]);
    const t = rows.find((r) => r['metric'] === 'total_time_s' && r['workload'] === 'idle')!;
    expect(t['n']).toBe('2');
    expect(t['kind']).toBe('deterministic');
    expect(rows.find((r) => r['metric'] === 'harness_wall_ms')!['kind']).toBe('measured');
    expect(rows.some((r) => r['metric'] === 'seed' || r['metric'] === 'memory_bytes' || r['metric'] === 'repeat')).toBe(false);
    // memory_verified is null for the rolled-back churn runs: no row for it there.
    expect(rows.some((r) => r['workload'] === 'churn' && r['metric'] === 'memory_verified')).toBe(false);
    const mean = (Number(records[0]!['total_time_s']) + Number(records[1]!['total_time_s'])) / 2;
    expect(Number(t['mean'])).toBeCloseTo(mean, 6);
    // No interval below what a metric can take, and no exponent notation anywhere.
    for (const r of rows) if (r['ci95_low'] !== '') expect(Number(r['ci95_low']), `${r['scenario']} ${r['metric']}`).toBeGreaterThanOrEqual(0);
    expect(summaryCsv(summary)).not.toMatch(/\d[eE][-+]?\d/);
  });
});
