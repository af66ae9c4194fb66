import { describe, expect, it } from 'vitest';
import { parse } from 'csv-parse/sync';
import { parseMatrix } from '../../src/bench/matrix.js';
import { planMatrix } from '../../src/bench/plan.js';
import { runBench } from '../../src/bench/runner.js';
import { summarize } from '../../src/bench/aggregate.js';
import { metricColumns } from '../../src/bench/columns.js';
import { BENCH_ROUND_COLUMNS, BENCH_RUN_COLUMNS, benchRoundsCsv, benchRunRecords, benchRunsCsv, readRunsCsv, SUMMARY_COLUMNS, summaryCsv } from '../../src/report/bench-csv.js';
import { RUN_COLUMNS } from '../../src/report/csv.js';

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
  const records = benchRunRecords(outcome.runs);
  const text = benchRunsCsv(outcome.runs);

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
        expect(p[c], c).toBe(v === null ? '' : String(v));
      }
    });
    // The typed reader used by `compare` gives back the records themselves.
    expect(readRunsCsv(text)).toEqual(records);
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

  it('runs.csv holds every RUN_COLUMNS field after the bench columns', () => {
    expect(BENCH_RUN_COLUMNS.slice(0, 6)).toEqual(['run_id', 'scenario', 'repeat', 'vm_label', 'policy_label', 'harness_wall_ms']);
    expect(BENCH_RUN_COLUMNS.slice(6)).toEqual([...RUN_COLUMNS]);
  });

  it('rounds.csv has one row per round of every run, keyed by run id', () => {
    const rows = parse(benchRoundsCsv(outcome.runs), { columns: true }) as Record<string, string>[];
    expect(Object.keys(rows[0]!)).toEqual([...BENCH_ROUND_COLUMNS]);
    expect(rows).toHaveLength(outcome.runs.reduce((n, r) => n + r.result.rounds.length, 0));
    expect(new Set(rows.map((r) => r['run_id']))).toEqual(new Set(records.map((r) => r['run_id'])));
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
    expect(Number(t['mean'])).toBeCloseTo(mean, 12);
  });
});
