// The bench's CSV files: runs.csv (run keys, harness columns, then every RUN_COLUMNS field of the
// result record), rounds.csv, summary.csv and compare.csv; and reading a runs.csv back for `compare`.
// Every column is documented with its unit in docs/csv.md.

import { parse } from 'csv-parse/sync';
import type { CompareRow } from '../bench/compare.js';
import type { SummaryRow } from '../bench/aggregate.js';
import { HARNESS_COLUMNS, LABEL_COLUMNS, RUN_KEY_COLUMNS, type Row } from '../bench/columns.js';
import type { BenchRun } from '../bench/runner.js';
import { RUN_COLUMNS, ROUND_COLUMNS, toCsv } from './csv.js';

/** runs.csv columns, in order. New result fields (RUN_COLUMNS) appear after the bench's own columns. */
export const BENCH_RUN_COLUMNS: readonly string[] = [...RUN_KEY_COLUMNS, ...HARNESS_COLUMNS, ...RUN_COLUMNS];

export const SUMMARY_COLUMNS = ['scenario', ...LABEL_COLUMNS, 'metric', 'kind', 'n', 'mean', 'median', 'p95', 'min', 'max', 'stdev', 'ci95_low', 'ci95_high'] as const;

export const COMPARE_COLUMNS = [
  'scenario',
  ...LABEL_COLUMNS,
  'metric',
  'kind',
  'better_when',
  'base_n',
  'current_n',
  'base_mean',
  'current_mean',
  'change_pct',
  'p_value',
  'p_adjusted',
  'differs',
  'verdict',
] as const;

const ROUND_KEY = ['mode', 'network', 'transport', 'workload', 'policy', 'seed'] as const;
export const BENCH_ROUND_COLUMNS: readonly string[] = ['run_id', 'scenario', 'repeat', ...ROUND_KEY, ...ROUND_COLUMNS];

const keyOf = (b: BenchRun): Row => ({
  run_id: b.planned.runId,
  scenario: b.planned.scenario.key,
  repeat: b.planned.repeat,
  vm_label: b.planned.scenario.labels.vm,
  policy_label: b.planned.scenario.labels.policy,
});

/** One record per run with every runs.csv column (the wall time rounded to the microsecond). */
export function benchRunRecords(runs: readonly BenchRun[]): Row[] {
  return runs.map((b) => {
    const row: Row = { ...keyOf(b), harness_wall_ms: Math.round(b.wallMs * 1000) / 1000 };
    const result = b.result;
    for (const c of RUN_COLUMNS) row[c] = result[c];
    return row;
  });
}

export function benchRunsCsv(runs: readonly BenchRun[]): string {
  return toCsv(BENCH_RUN_COLUMNS, benchRunRecords(runs));
}

export function benchRoundsCsv(runs: readonly BenchRun[]): string {
  const rows: Row[] = [];
  for (const b of runs) {
    const k = keyOf(b);
    const head: Row = { run_id: k['run_id']!, scenario: k['scenario']!, repeat: k['repeat']! };
    for (const c of ROUND_KEY) head[c] = b.result[c];
    for (const round of b.result.rounds) {
      const row: Row = { ...head };
      for (const c of ROUND_COLUMNS) row[c] = round[c];
      rows.push(row);
    }
  }
  return toCsv(BENCH_ROUND_COLUMNS, rows);
}

export function summaryCsv(rows: readonly SummaryRow[]): string {
  return toCsv(
    SUMMARY_COLUMNS,
    rows.map(({ labels, ...r }) => ({ ...r, ...labels })),
  );
}

export function compareCsv(rows: readonly CompareRow[]): string {
  return toCsv(
    COMPARE_COLUMNS,
    rows.map(({ labels, ...r }) => ({ ...r, ...labels })),
  );
}

/** Columns that hold text even when a value looks like a number (a VM labelled "8"). */
const TEXT_COLUMNS = new Set<string>([...RUN_KEY_COLUMNS.filter((c) => c !== 'repeat'), ...LABEL_COLUMNS, 'engine', 'policy', 'outcome', 'rollback_reason', 'vm_running_on', 'phase']);
const NUMBER = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;

/** Parse a runs.csv (RFC 4180): numbers and true/false become values, empty fields null. */
export function readRunsCsv(text: string): Row[] {
  const records = parse(text, { columns: true, skip_empty_lines: true, bom: true }) as Record<string, string>[];
  return records.map((rec) => {
    const row: Row = {};
    for (const [k, v] of Object.entries(rec)) {
      if (v === '') row[k] = null;
      else if (TEXT_COLUMNS.has(k)) row[k] = v;
      else if (v === 'true' || v === 'false') row[k] = v === 'true';
      else if (NUMBER.test(v)) row[k] = Number(v);
      else row[k] = v;
    }
    return row;
  });
}
