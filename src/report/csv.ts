// CSV output (RFC 4180, via csv-stringify): CRLF record delimiters, fields with commas, quotes or line
// breaks quoted, booleans as true/false, null as an empty field, numbers in plain decimal notation rounded
// to the digits that mean something for their unit (numbers.ts). Column meanings and units are
// documented in docs/csv.md.

import { stringify } from 'csv-stringify/sync';
import type { MigrationResult, RoundRecord } from '../result.js';
import { formatNumber, precisionOf, type Precision } from './numbers.js';

export type Scalar = string | number | boolean | null;

/** The columns of runs.csv, in order: every scalar field of the result record. */
export const RUN_COLUMNS = [
  'engine',
  'mode',
  'network',
  'transport',
  'workload',
  'memory_bytes',
  'policy',
  'seed',
  'outcome',
  'rollback_reason',
  'converged',
  'vm_running_on',
  'total_time_s',
  'downtime_ms',
  'precopy_rounds',
  'memory_pages_sent',
  'memory_bytes_sent',
  'zero_pages',
  'total_bytes_sent',
  'pings_sent',
  'missed_pings',
  'max_ping_gap_ms',
  'tcp_max_stall_ms',
  'tcp_sessions_dropped',
  'memory_verified',
  'disk_bytes',
  'storage_bytes_copied',
  'storage_copy_time_s',
  'mirrored_writes',
  'mirrored_bytes',
  'handoff_ms',
  'source_cpu_s',
  'destination_cpu_s',
  'compression_share',
  'source_files_removed',
  'faults',
  'faults_applied',
  'writes_lost',
  'destination_files_left',
  'cleanup_pending',
  'invariants_ok',
  'invariant_violations',
  'verified',
] as const satisfies readonly (keyof MigrationResult)[];

export const ROUND_COLUMNS = ['round', 'phase', 'start_s', 'duration_s', 'pages_sent', 'bytes_sent', 'dirty_pages_after', 'throttle'] as const satisfies readonly (keyof RoundRecord)[];

/**
 * Rows as CSV text with a header. Numbers are rounded by `precision` (default: by the column's name; a
 * long-format file such as summary.csv rounds by the row's metric instead).
 */
export function toCsv(columns: readonly string[], rows: Record<string, Scalar | undefined>[], precision: (column: string, row: Record<string, Scalar | undefined>) => Precision = precisionOf): string {
  const cell = (r: Record<string, Scalar | undefined>, c: string): Scalar => {
    const v = r[c] ?? null;
    return typeof v === 'number' ? formatNumber(v, precision(c, r)) : v;
  };
  return stringify(
    rows.map((r) => columns.map((c) => cell(r, c))),
    {
      header: true,
      columns: [...columns],
      record_delimiter: 'windows',
      quote_record_delimiter: true,
      cast: { boolean: (b) => (b ? 'true' : 'false') },
    },
  );
}

function pick<T extends object>(o: T, keys: readonly (keyof T)[]): Record<string, Scalar> {
  const out: Record<string, Scalar> = {};
  for (const k of keys) out[k as string] = o[k] as Scalar;
  return out;
}
