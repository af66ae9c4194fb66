// `migbench evacuate`: drain a host (or, with --rolling, every node of a cluster in turn) in the simulator,
// many VMs moving at once on shared links under Hyper-V's per-host limits. Prints a summary (or --json);
// --out DIR writes evacuation.csv, timeline.csv, links.csv, evacuation.json and report.html.

import type { Command } from 'commander';
import { join } from 'node:path';
import { evacuationSpec, type EvacuationInput } from '../../evacuation/spec.js';
import { simulateEvacuation } from '../../evacuation/simulate.js';
import type { EvacuationResult, EvacuationSpec, LinkUse } from '../../evacuation/types.js';
import { evacuationCsv, evacuationHtml, linksCsv, timelineCsv } from '../../report/evacuation.js';
import { ensureWritableDir, writeFileAtomic } from '../../report/files.js';
import { keyValues, table } from '../../report/table.js';
import { OPTION_KEYS, resolveScenario } from '../../scenario.js';
import { formatBytes, formatDuration, formatRate } from '../../units/index.js';
import type { Io } from '../io.js';
import { addScenarioOptions, scenarioInputFrom } from '../options.js';
import { InputError } from '../../errors.js';
import { REAL_DEFAULT_MEMORY } from './migrate.js';
import { addRealEvacuationOptions, formatRealPart, REAL_ONLY_FLAGS, realVerdict, runRealEvacuation, type RealFlags } from './evacuate-real.js';

/** The scenario options every VM shares (`--fault` is the evacuation's own). */
const SHARED_KEYS = OPTION_KEYS.filter((k) => k !== 'fault');

export function registerEvacuate(program: Command, io: Io): void {
  const cmd = program
    .command('evacuate')
    .description('drain a host (or every node of a cluster in turn): many VMs moving at once on shared links, in the simulator (or, --engine real, real running guests)')
    .option('--vms <N>', 'this many VMs, every one alike (the simulate options below) (default: 8)')
    .option('--inventory <FILE>', 'the VMs from a file: CSV (plain, or PowerShell Export-Csv of Get-VM), YAML or JSON (docs/evacuation.md)')
    .option('--max-live <N>', 'live migrations at once per host (Set-VMHost -MaximumVirtualMachineMigrations) (default: 2)')
    .option('--max-storage <N>', 'storage migrations at once per host (-MaximumStorageMigrations) (default: 2)')
    .option('--destinations <K>', 'destination hosts the VMs spread over (default: 1)')
    .option('--dest-memory <SIZE>', 'memory each destination host (or node) has for VMs (default: unlimited)')
    .option('--order <ORDER>', 'inventory, largest-first or smallest-first (default: inventory)')
    .option('--window <DURATION>', 'the maintenance window: does the drain fit, and by how much')
    .option('--rolling <NODES>', 'drain each of this many cluster nodes in turn (cluster-aware updating)')
    .option('--update-time <DURATION>', 'rolling: time a node takes to update and come back before the next drains (default: 0s)')
    .option('--fault <KIND@TIME>', 'a fault of the drain (repeatable): link-down or nic-down of the host being drained, dest-crash of its first destination', (v: string, p: string[] | undefined) => [...(p ?? []), v])
    .option('--json', 'print one JSON object and nothing else')
    .option('--out <DIR>', 'write evacuation.csv, timeline.csv, links.csv, evacuation.json and report.html there');
  addRealEvacuationOptions(cmd);
  addScenarioOptions(cmd, SHARED_KEYS);
  cmd.action(async (opts: RealFlags) => {
    const engine = opts.engine ?? 'sim';
    if (engine !== 'sim' && engine !== 'real') throw new InputError({ source: '--engine', expected: 'sim or real', got: engine });
    if (engine === 'sim') {
      const given = REAL_ONLY_FLAGS.find((k) => opts[k] !== undefined) ?? (opts.reserve === false ? 'reserve' : undefined);
      if (given) throw new InputError({ source: `--${given === 'reserve' ? 'no-reserve' : given.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`, expected: 'only with --engine real' });
    }
    const base = scenarioInputFrom(opts, SHARED_KEYS);
    // The real engine's guests are 1 GiB unless told (as `migrate`'s); the simulator's, the scenario's default.
    if (engine === 'real') base.memory ??= REAL_DEFAULT_MEMORY;
    const memory = resolveScenario(base).memoryBytes;
    const spec = evacuationSpec(opts as EvacuationInput, base, memory);
    const out = opts['out'] as string | undefined;
    if (out !== undefined) ensureWritableDir(out, '--out');
    const files = '(evacuation.csv, timeline.csv, links.csv, evacuation.json, report.html)';
    if (engine === 'real') {
      const r = await runRealEvacuation(opts, spec, io);
      if (out !== undefined) writeOut(out, r, `${title(spec)} (real)`);
      io.out(opts.json ? `${JSON.stringify(r)}\n` : formatEvacuation(r, spec, 'real') + formatRealPart(r) + (out !== undefined ? `\nreports in ${out}/ ${files}\n` : ''));
      const failure = realVerdict(r);
      if (failure) throw failure;
      return;
    }
    const result = simulateEvacuation(spec);
    if (out !== undefined) writeOut(out, result, title(spec));
    io.out(opts.json ? `${JSON.stringify(result)}\n` : formatEvacuation(result, spec) + (out !== undefined ? `\nreports in ${out}/ ${files}\n` : ''));
  });
}

function title(spec: EvacuationSpec): string {
  const n = spec.vms.length;
  return spec.rolling !== null ? `Rolling drain of ${spec.rolling} nodes, ${n} VMs` : `Evacuation of ${n} VM${n === 1 ? '' : 's'} to ${spec.destinations} host${spec.destinations === 1 ? '' : 's'}`;
}

function writeOut(dir: string, r: EvacuationResult, name: string): void {
  writeFileAtomic(join(dir, 'evacuation.csv'), evacuationCsv(r));
  writeFileAtomic(join(dir, 'timeline.csv'), timelineCsv(r));
  writeFileAtomic(join(dir, 'links.csv'), linksCsv(r));
  writeFileAtomic(join(dir, 'evacuation.json'), `${JSON.stringify(r, null, 1)}\n`);
  writeFileAtomic(join(dir, 'report.html'), evacuationHtml(r, name));
}

const pct = (x: number): string => `${Math.round(x * 100)}%`;
/** A link's use: its share of the capacity, or (none known, as for loopback) its throughput. */
const use = (bytesPerS: number, u: number | null): string => (u === null ? `${formatRate(bytesPerS)}` : pct(u));

/** The `n` busiest links: by share of their capacity where both know one, else by throughput. */
export function busiestLinks(links: readonly LinkUse[], n: number): LinkUse[] {
  return [...links].sort((a, b) => (a.mean_utilisation !== null && b.mean_utilisation !== null ? b.mean_utilisation - a.mean_utilisation : b.mean_bytes_per_s - a.mean_bytes_per_s)).slice(0, n);
}

export function formatEvacuation(r: EvacuationResult, spec: EvacuationSpec, engine: 'sim' | 'real' = 'sim'): string {
  const s = resolveScenario(spec.base);
  const over = engine === 'real' ? 'with the real engine (striped TCP channels)' : `over ${s.network.name} with ${s.transport}`;
  const head = `${title(spec)} ${over}, ${spec.maxLive} live and ${spec.maxStorage} storage migrations at once per host\n\n`;
  const window =
    r.window_s === null ? [] : [['window', `${formatDuration(r.window_s)}: ${r.fits_window ? `fits, ${formatDuration(r.window_margin_s!)} to spare` : r.window_margin_s! < 0 ? `does NOT fit, ${formatDuration(-r.window_margin_s!)} over` : 'does NOT fit: not every VM moved'}`] as [string, string]];
  const pairs: [string, string][] = [
    ['makespan', formatDuration(r.makespan_s)],
    ...window,
    ['moved', `${r.moved} of ${r.migrations} move(s)${r.migrations !== r.vm_count ? ` (${r.vm_count} VMs; a VM placed on a node not yet drained moves again)` : ''}${r.failed > 0 ? `, ${r.failed} rolled back (they stay on their source)` : ''}${r.unplaced > 0 ? `, ${r.unplaced} with no room on any destination (not moved)` : ''}`],
    ['at once', `at most ${r.peak_live} live, ${r.peak_storage} storage migrations`],
    ...(r.faults.length > 0 ? [['faults', r.faults.join(', ')] as [string, string]] : []),
  ];
  const links = r.links.length > 0 ? '\nlinks (busiest)\n' + table(['link', 'capacity', 'mean', 'peak'], busiestLinks(r.links, 6).map((l) => [l.link, l.capacity_bps === null ? '-' : formatRate(l.capacity_bps / 8), use(l.mean_bytes_per_s, l.mean_utilisation), use(l.peak_bytes_per_s, l.peak_utilisation)])) : '';
  const nodes = r.nodes.length > 1 ? '\nnodes\n' + table(['node', 'start', 'end', 'VMs', 'moved'], r.nodes.map((n) => [n.node, formatDuration(n.start_s), formatDuration(n.end_s), n.vms, n.moved])) : '';
  const shown = r.vms.length > 40 ? [...r.vms.slice(0, 20), ...r.vms.slice(-20)] : r.vms;
  const rows = shown.map((v) => [v.name, v.destination ?? '-', formatBytes(v.memory_bytes), formatDuration(v.queued_s), formatDuration(v.start_s), formatDuration(v.end_s), v.outcome === 'unplaced' ? '-' : formatDuration(v.downtime_ms / 1000), v.outcome === 'completed' ? 'moved' : (v.rollback_reason ?? v.outcome)]);
  const more = r.vms.length > shown.length ? `  ... ${r.vms.length - shown.length} more VMs (--json or --out for all)\n` : '';
  const vms = '\nVMs\n' + table(['VM', 'to', 'memory', 'queued', 'start', 'end', 'downtime', 'outcome'], rows) + more;
  return head + keyValues(pairs) + links + nodes + vms;
}
