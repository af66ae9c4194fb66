// The bench's evacuation files, written when the matrix has evacuations: evacuations.csv (one row per
// evacuation run: its labels, makespan, concurrency, outcomes, the busiest source link) and
// evacuation-vms.csv (one row per VM of each evacuation run: run_id and the columns of `migbench evacuate
// --out`'s evacuation.csv). Every column is documented with its unit in docs/csv.md.

import type { Row } from '../bench/columns.js';
import type { BenchEvacuation } from '../bench/runner.js';
import type { EvacuationResult, LinkUse } from '../evacuation/types.js';
import { resolveScenario } from '../scenario.js';
import { VERSION } from '../version.js';
import type { ReportContext } from './bench-csv.js';
import { toCsv } from './csv.js';
import { EVACUATION_COLUMNS } from './evacuation.js';

/** evacuations.csv columns, in order. Columns are only ever added, at the end; read them by name. */
export const EVACUATION_RUN_COLUMNS = [
  'run_id',
  'scenario',
  'repeat',
  'report_id',
  'migbench_version',
  'network',
  'transport',
  'vms',
  'max_live',
  'mode',
  'workload',
  'memory_bytes',
  'seed',
  'makespan_s',
  'peak_live',
  'peak_storage',
  'moved',
  'failed',
  'unplaced',
  'fits_window',
  'window_margin_s',
  'source_link',
  'source_link_mean_utilisation',
  'source_link_peak_utilisation',
  'harness_wall_ms',
  'harness_cpu_ms',
] as const;

/** Columns of evacuations.csv that differ between two benches of the same matrix and seed. */
export const EVACUATION_NONDETERMINISTIC_COLUMNS = ['report_id', 'harness_wall_ms', 'harness_cpu_ms'] as const;

/** evacuation-vms.csv columns: the evacuation run, then the VM's (as `migbench evacuate --out` writes them). */
export const EVACUATION_VM_COLUMNS: readonly string[] = ['run_id', ...EVACUATION_COLUMNS];

/**
 * The busiest link of the drained host: of the NIC ports (each direction its own link) of the hosts the
 * VMs left, the one with the highest mean utilisation over the makespan (ties: the first listed). Null when
 * no source link carried anything.
 */
export function busiestSourceLink(r: EvacuationResult): LinkUse | null {
  const sources = new Set(r.vms.map((v) => v.source));
  let best: LinkUse | null = null;
  for (const l of r.links) {
    if (!sources.has(l.link.slice(0, l.link.indexOf('/')))) continue;
    if (best === null || (l.mean_utilisation ?? -1) > (best.mean_utilisation ?? -1)) best = l;
  }
  return best;
}

const ms = (x: number | null | undefined): number | null => (typeof x === 'number' ? Math.round(x * 1000) / 1000 : null);

export function evacuationRunRecords(evacuations: readonly BenchEvacuation[], ctx: ReportContext): Row[] {
  // The shared scenario's mode, workload and memory, once per evacuation scenario.
  const shared = new Map<string, { mode: string; workload: string; memory: number }>();
  const sharedOf = (e: BenchEvacuation) => {
    const key = e.planned.scenario.key;
    if (!shared.has(key)) {
      const s = resolveScenario({ ...e.planned.scenario.input, seed: e.planned.seed });
      shared.set(key, { mode: s.mode, workload: s.workload.name, memory: s.memoryBytes });
    }
    return shared.get(key)!;
  };
  return evacuations.map((e) => {
    const r = e.result;
    const s = e.planned.scenario;
    const link = busiestSourceLink(r);
    const base = sharedOf(e);
    return {
      run_id: e.planned.runId,
      scenario: s.key,
      repeat: e.planned.repeat,
      report_id: ctx.reportId,
      migbench_version: ctx.version ?? VERSION,
      network: s.labels.network,
      transport: s.labels.transport,
      vms: s.labels.vms,
      max_live: s.labels.max_live,
      mode: base.mode,
      workload: base.workload,
      memory_bytes: base.memory,
      seed: e.planned.seed,
      makespan_s: r.makespan_s,
      peak_live: r.peak_live,
      peak_storage: r.peak_storage,
      moved: r.moved,
      failed: r.failed,
      unplaced: r.unplaced,
      fits_window: r.fits_window,
      window_margin_s: r.window_margin_s,
      source_link: link?.link ?? null,
      source_link_mean_utilisation: link?.mean_utilisation ?? null,
      source_link_peak_utilisation: link?.peak_utilisation ?? null,
      harness_wall_ms: ms(e.wallMs),
      harness_cpu_ms: ms(e.cpuMs),
    } satisfies Record<(typeof EVACUATION_RUN_COLUMNS)[number], Row[string]>;
  });
}

export function evacuationsCsv(evacuations: readonly BenchEvacuation[], ctx: ReportContext): string {
  return toCsv(EVACUATION_RUN_COLUMNS, evacuationRunRecords(evacuations, ctx));
}

export function evacuationVmsCsv(evacuations: readonly BenchEvacuation[]): string {
  const rows: Row[] = [];
  for (const e of evacuations) for (const v of e.result.vms) rows.push({ run_id: e.planned.runId, ...(v as unknown as Row) });
  return toCsv(EVACUATION_VM_COLUMNS, rows);
}
