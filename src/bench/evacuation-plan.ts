// Expanding a matrix's `evacuations` section into evacuation runs: the product of its axes (networks x
// transports x VM counts x max-live, max-live innermost) times its repeats. Each scenario has a key,
// `evacuation/<network>/<transport>/<vms>vms/live<maxLive>`; each run's seed derives from the matrix seed,
// that key and the repeat index (as a run's does), so a result never depends on the worker, the order or
// the shard. Shards take evacuation scenario k when k mod n = i - 1, counted on their own (not after the
// runs' scenarios), with all its repeats. Every scenario is validated before anything runs, with errors
// naming the matrix field.

import { dirname, resolve } from 'node:path';
import { InputError } from '../errors.js';
import { evacuationSpec, type EvacuationInput } from '../evacuation/spec.js';
import { OPTIONS, resolveScenario, type Naming, type OptionKey, type ScenarioInput } from '../scenario.js';
import { EVACUATION_OPTION_KEYS } from './evacuation-schema.js';
import type { LoadedMatrix } from './matrix.js';
import { networkOptionOf } from './network-axis.js';

/** An evacuation scenario's labels: its axis values (the columns of evacuations.csv). */
export interface EvacuationLabels {
  network: string;
  transport: string;
  vms: number;
  max_live: number;
}

export interface PlannedEvacuation {
  /** Position among the matrix's evacuation scenarios (before sharding). */
  index: number;
  /** `evacuation/<network>/<transport>/<vms>vms/live<maxLive>`: the scenario's identity across reports. */
  key: string;
  labels: EvacuationLabels;
  /** The scenario options every VM shares, without the seed. */
  input: ScenarioInput;
  /** The evacuation's own options (as `migbench evacuate` takes them). */
  evacuation: EvacuationInput;
}

export interface PlannedEvacuationRun {
  /** Position in the full expansion of the evacuations (before sharding): the row order of evacuations.csv. */
  index: number;
  scenario: PlannedEvacuation;
  repeat: number;
  /** `<scenario key>#<repeat>`. */
  runId: string;
  seed: number;
}

export interface EvacuationPlan {
  repeats: number;
  /** This shard's evacuation scenarios (all of them without --shard). */
  scenarios: PlannedEvacuation[];
  runs: PlannedEvacuationRun[];
  /** Evacuation scenarios of the whole matrix. */
  totalScenarios: number;
}

export const evacuationKey = (l: EvacuationLabels): string => `evacuation/${l.network}/${l.transport}/${l.vms}vms/live${l.max_live}`;

/** Where each evacuation flag's value comes from in the matrix, for errors. */
const FLAG_PATHS: Record<string, string> = {
  '--max-storage': 'evacuations.set.maxStorage',
  '--destinations': 'evacuations.set.destinations',
  '--dest-memory': 'evacuations.set.destMemory',
  '--order': 'evacuations.set.order',
  '--window': 'evacuations.set.window',
};

/**
 * The evacuation scenarios of a matrix (null when it has none). `runSeed` is the runs' seed function
 * (plan.ts), so both kinds derive their seeds alike; `repeats` is the runs' (the section's own wins).
 */
export function planEvacuations(
  loaded: LoadedMatrix | Omit<LoadedMatrix, 'file'>,
  o: { seed: number; repeats: number; shard: { index: number; count: number } | null; runSeed: (seed: number, key: string, repeat: number) => number },
): EvacuationPlan | null {
  const { matrix: m, source } = loaded;
  const e = m.evacuations;
  if (!e) return null;
  const a = e.axes;
  for (const [field, values] of [['vms', a.vms], ['maxLive', a.maxLive], ['networks', a.networks], ['transports', a.transports]] as const) {
    (values as readonly (string | number)[]).forEach((v, i) => {
      if (values.indexOf(v as never) !== i) throw new InputError({ source, path: `evacuations.axes.${field}[${i}]`, expected: 'each value once per axis', got: v });
    });
  }

  // The options every VM shares (a VM spec file is relative to the matrix file) and the evacuation's own.
  const paths = new Map<OptionKey, string>();
  const shared: ScenarioInput = {};
  const evacuation: EvacuationInput = {};
  const file = 'file' in loaded ? loaded.file : undefined;
  for (const [k, v] of Object.entries(e.set)) {
    if (v === undefined) continue;
    if ((EVACUATION_OPTION_KEYS as readonly string[]).includes(k)) {
      (evacuation as Record<string, unknown>)[k] = typeof v === 'number' && (k === 'destMemory' || k === 'window') ? String(v) : v;
      continue;
    }
    shared[k as OptionKey] = k === 'vm' && typeof v === 'string' && file !== undefined ? resolve(dirname(file), v) : (v as string | number | boolean);
    paths.set(k as OptionKey, `evacuations.set.${k}`);
  }

  // Before the scenario is resolved: a storage-only move would be refused for its transport instead.
  if (shared['mode'] === 'storage') throw new InputError({ source, path: 'evacuations.set.mode', expected: 'cluster, smb-share or shared-nothing (an evacuation moves VMs to other hosts)', got: 'storage' });
  const scenarios: PlannedEvacuation[] = [];
  a.networks.forEach((network, ni) => {
    a.transports.forEach((transport, ti) => {
      const input: ScenarioInput = { ...shared, [networkOptionOf(network)]: network, transport };
      const naming: Naming = (key) => {
        if (key === 'network' || key === 'nics') return { source, path: `evacuations.axes.networks[${ni}]` };
        if (key === 'transport') return { source, path: `evacuations.axes.transports[${ti}]` };
        const def = (OPTIONS as Record<string, { default?: string }>)[key];
        return { source, path: paths.get(key) ?? (def ? `${key} (default${def.default !== undefined ? ` ${def.default}` : ''}; set it under evacuations.set.${key})` : String(key)) };
      };
      const s = resolveScenario({ ...input, seed: 0 }, naming);
      for (const vms of a.vms) {
        for (const maxLive of a.maxLive) {
          const labels: EvacuationLabels = { network, transport, vms, max_live: maxLive };
          const ev: EvacuationInput = { ...evacuation, vms, maxLive };
          // Validate the evacuation options now (one VM stands for the count, which the schema checked).
          try {
            evacuationSpec({ ...ev, vms: 1 }, input, s.memoryBytes);
          } catch (err) {
            if (err instanceof InputError && FLAG_PATHS[err.source]) throw new InputError({ source, path: FLAG_PATHS[err.source]!, expected: err.expected, got: err.got });
            throw err;
          }
          scenarios.push({ index: scenarios.length, key: evacuationKey(labels), labels, input, evacuation: ev });
        }
      }
    });
  });

  const repeats = e.repeats ?? o.repeats;
  const mine = o.shard ? scenarios.filter((s) => s.index % o.shard!.count === o.shard!.index - 1) : scenarios;
  const runs: PlannedEvacuationRun[] = [];
  for (const s of mine) {
    for (let r = 0; r < repeats; r++) runs.push({ index: s.index * repeats + r, scenario: s, repeat: r, runId: `${s.key}#${r}`, seed: o.runSeed(o.seed, s.key, r) });
  }
  return { repeats, scenarios: mine, runs, totalScenarios: scenarios.length };
}
