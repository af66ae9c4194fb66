// `migbench simulate`: one migration in the page-level simulator.
import type { Command } from 'commander';
import { simulate } from '../../drivers/sim/index.js';
import type { MigrationResult } from '../../result.js';
import { resolveScenario } from '../../scenario.js';
import { formatBytes, formatDuration } from '../../units/index.js';
import type { Io } from '../io.js';
import { addScenarioOptions, scenarioInputFrom } from '../options.js';
import { keyValues, table } from '../../report/table.js';

export function registerSimulate(program: Command, io: Io): void {
  const cmd = program
    .command('simulate')
    .description('simulate one live migration at page level, in virtual time')
    .option('--json', 'print one JSON object (the result record) and nothing else');
  addScenarioOptions(cmd);
  cmd.action((opts: Record<string, unknown>) => {
    const scenario = resolveScenario(scenarioInputFrom(opts));
    const result = simulate(scenario);
    io.out(opts['json'] ? `${JSON.stringify(result)}\n` : formatResult(result));
  });
}

const yesNo = (b: boolean | null): string => (b === null ? 'n/a' : b ? 'yes' : 'no');

export function formatResult(r: MigrationResult): string {
  const head = `${r.mode} migration, ${formatBytes(r.memory_bytes)} VM (${r.workload}) over ${r.network} with ${r.transport}, policy ${r.policy}, seed ${r.seed}\n\n`;
  const outcome = r.outcome === 'completed' ? `completed, VM running on the ${r.vm_running_on}` : `rolled back (${r.rollback_reason}), VM running on the ${r.vm_running_on}`;
  const precopy = r.rounds.filter((x) => x.phase === 'precopy').length;
  const pairs: [string, string][] = [
    ['outcome', outcome],
    ['converged', `${yesNo(r.converged)} (${precopy} pre-copy round${precopy === 1 ? '' : 's'})`],
    ['total time', formatDuration(r.total_time_s)],
    ['downtime', formatDuration(r.downtime_ms / 1000)],
    ['data sent', `${formatBytes(r.total_bytes_sent)} (memory ${formatBytes(r.memory_bytes_sent)}: ${r.memory_pages_sent} pages, ${r.zero_pages} of them zero)`],
    ['pings', `${r.pings_sent} sent, ${r.missed_pings} missed, longest gap ${formatDuration(r.max_ping_gap_ms / 1000)}`],
    ['tcp session', `longest stall ${formatDuration(r.tcp_max_stall_ms / 1000)}, ${r.tcp_sessions_dropped} dropped`],
    ...(r.source_cpu_s !== null && r.destination_cpu_s !== null
      ? [['host cpu', `source ${formatDuration(r.source_cpu_s)}, destination ${formatDuration(r.destination_cpu_s)} of core time${r.compression_share !== null ? `; ${(r.compression_share * 100).toFixed(0)}% of the memory compressed` : ''}`] as [string, string]]
      : []),
    ['memory verified', yesNo(r.memory_verified)],
    ['verified', yesNo(r.verified ?? null)],
  ];
  if (r.storage_bytes_copied > 0 || r.mode === 'shared-nothing' || r.mode === 'storage') {
    pairs.push(['storage copied', `${formatBytes(r.storage_bytes_copied)} of ${formatBytes(r.disk_bytes)} in ${formatDuration(r.storage_copy_time_s)}`]);
    pairs.push(['mirrored writes', `${r.mirrored_writes} (${formatBytes(r.mirrored_bytes)}), ${r.writes_lost} lost`]);
  }
  if (r.handoff_ms > 0) pairs.push(['storage handoff', formatDuration(r.handoff_ms / 1000)]);
  pairs.push(['files', `${r.source_files_removed} removed from the source, ${r.destination_files_left} left on the destination${r.cleanup_pending ? ', clean-up pending' : ''}`]);
  if (r.faults) pairs.push(['faults', `${r.faults} (${r.faults_applied} applied)`]);
  pairs.push(['invariants', r.invariants_ok ? 'all hold' : `BROKEN: ${r.invariant_violations}`]);
  const rows = r.rounds.map((x) => [
    x.round,
    x.phase,
    formatDuration(x.start_s),
    formatDuration(x.duration_s),
    x.pages_sent,
    formatBytes(x.bytes_sent),
    x.dirty_pages_after,
    `${Math.round(x.throttle * 100)}%`,
  ]);
  const roundsTable = rows.length > 0 ? '\n' + table(['round', 'phase', 'start', 'duration', 'pages', 'sent', 'dirty after', 'throttle'], rows) : '';
  return head + keyValues(pairs) + roundsTable;
}
