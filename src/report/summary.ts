// The short table `npm run bench` prints: for one workload (oltp when the matrix has it), the first VM
// and the first policy, the median total time and downtime of each mode and network (rows) by
// transport (columns). Every scenario's full statistics are in summary.csv.
import type { SummaryRow } from '../bench/aggregate.js';
import type { BenchEvacuation } from '../bench/runner.js';
import { formatDuration } from '../units/index.js';
import { table } from './table.js';

export function benchSummaryTable(summary: readonly SummaryRow[]): string {
  if (summary.length === 0) return 'no finished runs\n';
  const uniq = (f: (s: SummaryRow) => string): string[] => [...new Set(summary.map(f))];
  const workloads = uniq((s) => s.labels.workload);
  const workload = workloads.includes('oltp') ? 'oltp' : workloads[0]!;
  const vm = uniq((s) => s.labels.vm_label)[0]!;
  const policy = uniq((s) => s.labels.policy_label)[0]!;
  const rows = summary.filter((s) => s.labels.workload === workload && s.labels.vm_label === vm && s.labels.policy_label === policy);
  const transports = uniq((s) => s.labels.transport);
  const cell = new Map<string, { total?: number; down?: number }>();
  for (const s of rows) {
    const k = `${s.labels.mode}\u0000${s.labels.network}\u0000${s.labels.transport}`;
    const c = cell.get(k) ?? {};
    if (s.metric === 'total_time_s') c.total = s.median;
    if (s.metric === 'downtime_ms') c.down = s.median;
    cell.set(k, c);
  }
  const lines = [...new Set(rows.map((s) => `${s.labels.mode}\u0000${s.labels.network}`))].map((mn) => {
    const [mode, network] = mn.split('\u0000') as [string, string];
    return [
      mode,
      network,
      ...transports.map((t) => {
        const c = cell.get(`${mn}\u0000${t}`);
        return c?.total === undefined ? '-' : `${formatDuration(c.total)} / ${formatDuration((c.down ?? 0) / 1000)}`;
      }),
    ];
  });
  const title = `median total time / downtime, workload ${workload}, VM ${vm}, policy ${policy} (all scenarios: summary.csv)\n`;
  return title + table(['mode', 'network', ...transports], lines);
}

/**
 * One line about the bench's evacuations: how many ran, the range of their makespans, and where the CSV
 * files are.
 */
export function evacuationSummaryLine(evacuations: readonly BenchEvacuation[], planned: number, where: string): string {
  const m = evacuations.map((e) => e.result.makespan_s);
  const range = m.length > 0 ? `, makespans ${formatDuration(Math.min(...m))} to ${formatDuration(Math.max(...m))}` : '';
  const vms = evacuations.reduce((t, e) => t + e.result.migrations, 0);
  return `evacuations: ${evacuations.length} of ${planned} drains (${vms} VM moves${range}): ${where}/evacuations.csv, ${where}/evacuation-vms.csv (makespan against max-live in report.html)`;
}
