// A short table of results for people (used by `npm run bench`).
import type { MigrationResult } from '../result.js';
import { formatBytes, formatDuration } from '../units/index.js';
import { table } from './table.js';

export function formatResultRow(results: MigrationResult[]): string {
  const header = ['network', 'transport', 'workload', 'total', 'downtime', 'sent', 'converged', 'missed pings'];
  const rows = results.map((r) => [r.network, r.transport, r.workload, formatDuration(r.total_time_s), formatDuration(r.downtime_ms / 1000), formatBytes(r.total_bytes_sent), r.converged ? 'yes' : 'no', r.missed_pings]);
  return table(header, rows, '');
}
