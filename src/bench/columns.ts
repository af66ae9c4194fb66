// Columns the bench adds around the result record's own (RUN_COLUMNS in report/csv.ts), and what each
// metric means to a comparison: deterministic or measured, and which direction is better.

export type Cell = string | number | boolean | null;
export type Row = Record<string, Cell>;

/** Identify a run across reports; they come first in runs.csv. */
export const RUN_KEY_COLUMNS = ['run_id', 'scenario', 'repeat', 'vm_label', 'policy_label'] as const;

/**
 * Measured by the harness, not part of the result record: the run's wall time and its worker thread's
 * CPU time, and each over the reference workload's measured in the same bench. With the report's id,
 * the only columns of a sim run that differ between two runs of the same matrix. Excluded from
 * determinism checks; compared statistically.
 */
export const HARNESS_COLUMNS = ['harness_wall_ms', 'harness_wall_ratio', 'harness_cpu_ms', 'harness_cpu_ratio'] as const;

/** Columns of runs.csv that differ between two benches of the same matrix and seed (meta.json lists them). */
export const NONDETERMINISTIC_COLUMNS = ['report_id', ...HARNESS_COLUMNS] as const;

/** Columns that describe the scenario rather than measure it: never summarized or compared. */
/** (`vms` and `max_live` are an evacuation's: how many VMs it drains and how many move at once.) */
export const INPUT_COLUMNS = ['repeat', 'seed', 'memory_bytes', 'disk_bytes', 'link_payload_rate_bps', 'vms', 'max_live'];

/** Scenario label columns of summary.csv (taken from runs.csv). */
export const LABEL_COLUMNS = ['mode', 'network', 'transport', 'workload', 'vm_label', 'policy_label'] as const;

export type Direction = 'lower' | 'higher' | 'neutral';

// Fields named here that a report lacks (an older baseline) simply never match.
const LOWER = new Set([
  'total_time_s',
  'downtime_ms',
  'precopy_rounds',
  'memory_pages_sent',
  'memory_bytes_sent',
  'total_bytes_sent',
  'missed_pings',
  'max_ping_gap_ms',
  'tcp_max_stall_ms',
  'tcp_sessions_dropped',
  'harness_wall_ms',
  'harness_wall_ratio',
  'harness_cpu_ms',
  'harness_cpu_ratio',
  'storage_copy_time_s',
  'handoff_ms',
  'writes_lost',
  'destination_files_left',
  'cleanup_pending',
  // evacuations.csv: VMs that rolled back, or found no room on any destination
  'failed',
  'unplaced',
]);
/** A broken invariant (invariants_ok false) or a failed verification is a regression. */
const HIGHER = new Set(['converged', 'memory_verified', 'verified', 'invariants_ok', 'source_files_removed', 'moved', 'fits_window']);
/** Not judged: an evacuation's window margin is its makespan seen from the window (judged as makespan_s), and changes sign. */
const NEUTRAL = new Set(['window_margin_s']);

/** Which way a metric improves. Unlisted times (`_s`, `_ms`) improve downward; other unlisted metrics are neutral. */
export function direction(metric: string): Direction {
  if (NEUTRAL.has(metric)) return 'neutral';
  if (LOWER.has(metric)) return 'lower';
  if (HIGHER.has(metric)) return 'higher';
  if (/_(s|ms)$/.test(metric)) return 'lower';
  return 'neutral';
}

/**
 * Metrics that move in whole steps, with the step: a count of pings or rounds, a ping gap (a multiple of
 * the ping interval, 1 s by default) and a TCP stall (retransmission timeouts, 200 ms at least). A
 * change of the model that moves one run of a scenario across a step boundary is jitter; `compare` counts
 * a change only when the mean over the matched runs moves by a whole step.
 */
const DISCRETE: Readonly<Record<string, number>> = {
  precopy_rounds: 1,
  pings_sent: 1,
  missed_pings: 1,
  max_ping_gap_ms: 1000,
  tcp_max_stall_ms: 200,
  moved: 1,
  failed: 1,
  unplaced: 1,
};

/** The step of a discrete metric, or null for a continuous one. */
export function discreteStep(metric: string): number | null {
  return DISCRETE[metric] ?? null;
}

/** A cell as a number for statistics: booleans count as 1 and 0; null, empty and text are missing. */
export function numeric(v: Cell | undefined): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return null;
}

/** Metric columns: numeric or boolean columns that are not run keys, labels or scenario inputs. */
export function metricColumns(columns: readonly string[], rows: readonly Row[]): string[] {
  const skip = new Set<string>([...RUN_KEY_COLUMNS, ...LABEL_COLUMNS, ...INPUT_COLUMNS]);
  return columns.filter((c) => !skip.has(c) && rows.some((r) => typeof r[c] === 'number' || typeof r[c] === 'boolean'));
}

/** Measured (statistical) rather than deterministic: harness columns, and every metric of a real-engine run. */
export function isMeasured(metric: string, rows: readonly Row[]): boolean {
  return (HARNESS_COLUMNS as readonly string[]).includes(metric) || rows.some((r) => r['engine'] === 'real');
}
