// The bench's CSV files: runs.csv (run keys, the harness wall time, every RUN_COLUMNS field of the
// result record, then the bench's own later columns), rounds.csv, summary.csv and compare.csv; and
// reading a runs.csv back for `compare`. Every column is documented with its unit in docs/csv.md.

import { parse } from 'csv-parse/sync';
import type { CompareRow } from '../bench/compare.js';
import type { SummaryRow } from '../bench/aggregate.js';
import { LABEL_COLUMNS, RUN_KEY_COLUMNS, type Row } from '../bench/columns.js';
import type { BenchRun } from '../bench/runner.js';
import { resolveScenario } from '../scenario.js';
import { idleLinkRate } from '../drivers/sim/fabric.js';
import { VERSION } from '../version.js';
import { unitOf } from './compare-output.js';
import { RUN_COLUMNS, ROUND_COLUMNS, toCsv } from './csv.js';
import { precisionOf } from './numbers.js';

/**
 * Columns the bench adds after the result record's: which report and version a row came from, the link
 * the run had and what it achieved (computed here from the scenario and the result record), and the wall
 * time as a ratio to the reference workload measured in the same bench (runner.ts).
 */
export const BENCH_EXTRA_COLUMNS = ['report_id', 'migbench_version', 'link_payload_rate_bps', 'memory_throughput_bps', 'storage_throughput_bps', 'harness_wall_ratio', 'harness_cpu_ms', 'harness_cpu_ratio'] as const;

/**
 * runs.csv columns, in order. Columns are only ever added (at the end: the bench's extra columns, and
 * fields added to the result record later); read them by name.
 */
export const BENCH_RUN_COLUMNS: readonly string[] = [...RUN_KEY_COLUMNS, 'harness_wall_ms', ...RUN_COLUMNS, ...BENCH_EXTRA_COLUMNS];

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
  'unit',
  'note',
] as const;

const ROUND_KEY = ['mode', 'network', 'transport', 'workload', 'policy', 'seed'] as const;
/** rounds.csv: the run, its result fields and its scenario labels (vm_label, policy_label), then the round's. */
export const BENCH_ROUND_COLUMNS: readonly string[] = ['run_id', 'scenario', 'repeat', ...ROUND_KEY, 'vm_label', 'policy_label', ...ROUND_COLUMNS];

const keyOf = (b: BenchRun): Row => ({
  run_id: b.planned.runId,
  scenario: b.planned.scenario.key,
  repeat: b.planned.repeat,
  vm_label: b.planned.scenario.labels.vm,
  policy_label: b.planned.scenario.labels.policy,
});

/** What every row of a report carries: the report's id and the migbench version that wrote it. */
export interface ReportContext {
  reportId: string;
  version?: string;
  /** Median wall time of the reference workload in this bench, milliseconds (null: not measured). */
  referenceMs?: number | null;
  /** Median CPU time of the reference workload in this bench, milliseconds (null: not measured). */
  referenceCpuMs?: number | null;
}

/** One record per run with every runs.csv column (the wall time rounded to the microsecond). */
export function benchRunRecords(runs: readonly BenchRun[], ctx: ReportContext): Row[] {
  const linkRate = linkRates();
  return runs.map((b) => {
    const row: Row = { ...keyOf(b), harness_wall_ms: Math.round(b.wallMs * 1000) / 1000 };
    const result = b.result;
    for (const c of RUN_COLUMNS) row[c] = result[c];
    const memory = result.rounds.reduce((t, r) => ({ bytes: t.bytes + r.bytes_sent, s: t.s + r.duration_s }), { bytes: 0, s: 0 });
    Object.assign(row, {
      report_id: ctx.reportId,
      migbench_version: ctx.version ?? VERSION,
      link_payload_rate_bps: result.engine === 'sim' ? linkRate(b) : null,
      memory_throughput_bps: memory.s > 0 ? (memory.bytes * 8) / memory.s : null,
      storage_throughput_bps: result.storage_copy_time_s > 0 ? (result.storage_bytes_copied * 8) / result.storage_copy_time_s : null,
      harness_wall_ratio: ctx.referenceMs ? b.wallMs / ctx.referenceMs : null,
      harness_cpu_ms: typeof b.cpuMs === 'number' ? Math.round(b.cpuMs * 1000) / 1000 : null,
      harness_cpu_ratio: ctx.referenceCpuMs && typeof b.cpuMs === 'number' ? b.cpuMs / ctx.referenceCpuMs : null,
    } satisfies Row);
    return row;
  });
}

/**
 * The payload rate of the link a sim run's transport uses (its channels' line rate x protocol efficiency,
 * each TCP stream held to its cap), bits per second, once per scenario; null for a storage-only move.
 * Computed from the scenario because the result record does not carry it.
 */
function linkRates(): (b: BenchRun) => number | null {
  const cache = new Map<string, number | null>();
  return (b) => {
    const key = b.planned.scenario.key;
    if (!cache.has(key)) {
      const s = resolveScenario({ ...b.planned.scenario.input, seed: b.planned.seed });
      cache.set(key, s.mode === 'storage' ? null : idleLinkRate(s.network, s.transport) * 8);
    }
    return cache.get(key)!;
  };
}

export function benchRunsCsv(runs: readonly BenchRun[], ctx: ReportContext): string {
  return toCsv(BENCH_RUN_COLUMNS, benchRunRecords(runs, ctx));
}

export function benchRoundsCsv(runs: readonly BenchRun[]): string {
  const rows: Row[] = [];
  for (const b of runs) {
    const k = keyOf(b);
    const head: Row = { run_id: k['run_id']!, scenario: k['scenario']!, repeat: k['repeat']! };
    for (const c of ROUND_KEY) head[c] = b.result[c];
    head['vm_label'] = k['vm_label']!;
    head['policy_label'] = k['policy_label']!;
    for (const round of b.result.rounds) {
      const row: Row = { ...head };
      for (const c of ROUND_COLUMNS) row[c] = round[c];
      rows.push(row);
    }
  }
  return toCsv(BENCH_ROUND_COLUMNS, rows);
}

/** Long-format files (summary.csv, compare.csv): a statistic is rounded as its metric is. */
const STATISTICS = new Set(['mean', 'median', 'p95', 'min', 'max', 'stdev', 'ci95_low', 'ci95_high', 'base_mean', 'current_mean']);
const byMetric = (column: string, row: Record<string, unknown>) => precisionOf(STATISTICS.has(column) && typeof row['metric'] === 'string' ? row['metric'] : column);

export function summaryCsv(rows: readonly SummaryRow[]): string {
  return toCsv(
    SUMMARY_COLUMNS,
    rows.map(({ labels, ...r }) => ({ ...r, ...labels })),
    byMetric,
  );
}

export function compareCsv(rows: readonly CompareRow[]): string {
  return toCsv(
    COMPARE_COLUMNS,
    rows.map(({ labels, ...r }) => ({ ...r, ...labels, unit: unitOf(r.metric), note: r.note ?? null })),
    byMetric,
  );
}

/** Columns that hold text even when a value looks like a number (a VM labelled "8"). */
const TEXT_COLUMNS = new Set<string>([...RUN_KEY_COLUMNS.filter((c) => c !== 'repeat'), ...LABEL_COLUMNS, 'engine', 'policy', 'outcome', 'rollback_reason', 'vm_running_on', 'phase', 'report_id', 'migbench_version']);
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
