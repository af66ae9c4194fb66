// Expanding a matrix into runs: the cartesian product of the axes (modes x networks x transports x
// workloads x VMs x policies) less the excludes, times the repeats. Each scenario has a key made of its
// axis labels; each run's seed derives from the matrix seed, that key and the repeat index, so a run's
// result never depends on which worker ran it, in which order, or on which shard. Every scenario is
// validated through resolveScenario before anything runs, with errors naming the matrix field.

import { dirname, resolve } from 'node:path';
import { InputError } from '../errors.js';
import { deriveSeed } from '../random/index.js';
import { OPTIONS, resolveScenario, type Naming, type OptionKey, type ScenarioInput } from '../scenario.js';
import { parseSize } from '../units/index.js';
import { planEvacuations, type EvacuationPlan } from './evacuation-plan.js';
import { networkOptionOf } from './network-axis.js';
import { checkMatrixSize, POLICY_OPTION_KEYS, type LoadedMatrix, type PolicyEntryT, type VmEntryT } from './matrix.js';

export const AXES = ['mode', 'network', 'transport', 'workload', 'vm', 'policy'] as const;
export type Axis = (typeof AXES)[number];
const AXIS_FIELD: Record<Axis, 'modes' | 'networks' | 'transports' | 'workloads' | 'vms' | 'policies'> = {
  mode: 'modes',
  network: 'networks',
  transport: 'transports',
  workload: 'workloads',
  vm: 'vms',
  policy: 'policies',
};

export type Labels = Record<Axis, string>;

export interface PlannedScenario {
  /** Position in the full expansion (before sharding). */
  index: number;
  /** Axis labels joined by '/': the scenario's stable identity across reports. */
  key: string;
  labels: Labels;
  /** Scenario options without the seed. */
  input: ScenarioInput;
}

export interface PlannedRun {
  /** Position in the full expansion (before sharding): the order of rows in runs.csv. */
  index: number;
  scenario: PlannedScenario;
  repeat: number;
  /** `<scenario key>#<repeat>`: matches a run across reports. */
  runId: string;
  seed: number;
}

export interface ExcludeReport {
  reason: string;
  match: Partial<Record<Axis, string[]>>;
  /** Scenarios (axis combinations) this entry matches. */
  scenarios: number;
}

export interface Shard {
  index: number;
  count: number;
}

export interface Plan {
  name: string;
  source: string;
  seed: number;
  repeats: number;
  shard: Shard | null;
  /** Scenarios of this shard (all of them without --shard). */
  scenarios: PlannedScenario[];
  runs: PlannedRun[];
  /** Scenarios of the whole matrix, before sharding (after the excludes). */
  totalScenarios: number;
  excluded: ExcludeReport[];
  /** Things a person should know (such as an axis field the simulator does not take yet). */
  warnings: string[];
  /** The matrix's evacuation scenarios and runs (evacuation-plan.ts); absent or null when it has none. */
  evacuations?: EvacuationPlan | null;
}

export interface PlanOptions {
  seed?: number;
  repeats?: number;
  shard?: Shard | null;
}

/** Parse `--shard i/n` (1 <= i <= n). */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!(count >= 1 && index >= 1 && index <= count)) throw new InputError({ source: '--shard', expected: 'i/n with 1 <= i <= n, such as 1/2', got: text });
  return { index, count };
}

const str = (v: string | number | boolean): string => String(v);

export function vmLabel(e: VmEntryT): string {
  if (typeof e !== 'object') return str(e);
  return e.name ?? (e.disk !== undefined ? `${str(e.memory)}+${str(e.disk)}` : str(e.memory));
}

export function policyLabel(e: PolicyEntryT): string {
  if (typeof e === 'string') return e;
  if (e.name) return e.name;
  const o = policyOptions(e);
  const opts = POLICY_OPTION_KEYS.filter((k) => o[k] !== undefined).map((k) => `${k}=${str(o[k]!)}`);
  return opts.length ? `${e.policy}(${opts.join(',')})` : e.policy;
}

/** The options of a policy entry (its keys are built from OPTIONS, so the schema type does not list them). */
const policyOptions = (e: Exclude<PolicyEntryT, string>): Partial<Record<(typeof POLICY_OPTION_KEYS)[number], string | number | boolean>> => e as never;

/** The transport label of storage-only scenarios, which have none. */
export const NO_TRANSPORT = '-';

export function planMatrix(loaded: LoadedMatrix | Omit<LoadedMatrix, 'file'>, opts: PlanOptions = {}): Plan {
  const { matrix: m, source } = loaded;
  checkMatrixSize(m, source, opts.repeats ?? m.repeats); // before expanding anything (--repeats may raise the count)
  const seed = opts.seed ?? m.seed;
  const repeats = opts.repeats ?? m.repeats;
  const shard = opts.shard ?? null;
  const { scenarios, excluded } = m.axes ? planScenarios(loaded) : { scenarios: [], excluded: noAxesExcludes(loaded) };
  const evacuations = planEvacuations(loaded, { seed, repeats, shard, runSeed });
  const mine = shard ? scenarios.filter((s) => s.index % shard.count === shard.index - 1) : scenarios;
  const runs: PlannedRun[] = [];
  for (const s of mine) {
    for (let r = 0; r < repeats; r++) {
      runs.push({ index: s.index * repeats + r, scenario: s, repeat: r, runId: `${s.key}#${r}`, seed: runSeed(seed, s.key, r) });
    }
  }
  return { name: loaded.name, source, seed, repeats, shard, scenarios: mine, runs, totalScenarios: scenarios.length, excluded, warnings: [], evacuations };
}

/** A matrix of evacuations only has no axis an exclude could name. */
function noAxesExcludes({ matrix: m, source }: Omit<LoadedMatrix, 'file'>): ExcludeReport[] {
  if (m.exclude.length > 0) throw new InputError({ source, path: 'exclude[0]', expected: 'no excludes in a matrix without axes (excludes name values of the axes)', got: m.exclude[0]!.reason });
  return [];
}

/** The single-migration scenarios: the product of the axes less the excludes, each validated. */
function planScenarios(loaded: LoadedMatrix | Omit<LoadedMatrix, 'file'>): { scenarios: PlannedScenario[]; excluded: ExcludeReport[] } {
  const { matrix: m, source } = loaded;
  const axes = m.axes!;
  const labels: Record<Axis, string[]> = {
    mode: axes.modes,
    network: axes.networks,
    transport: axes.transports,
    workload: axes.workloads,
    vm: axes.vms.map(vmLabel),
    policy: axes.policies.map(policyLabel),
  };
  for (const axis of AXES) {
    labels[axis].forEach((l, i) => {
      if (labels[axis].indexOf(l) !== i) throw new InputError({ source, path: `axes.${AXIS_FIELD[axis]}[${i}]`, expected: 'each value (label) once per axis', got: l });
    });
  }

  axes.vms.forEach((e, i) => {
    if (typeof e !== 'object' || e.disk === undefined) return;
    try {
      parseSize(str(e.disk));
    } catch {
      throw new InputError({ source, path: `axes.vms[${i}].disk`, expected: 'a size such as 100GiB', got: e.disk });
    }
  });

  const excluded: ExcludeReport[] = m.exclude.map((e, i) => {
    const match: Partial<Record<Axis, string[]>> = {};
    for (const axis of AXES) {
      const v = e[axis];
      if (v === undefined) continue;
      const list = Array.isArray(v) ? v : [v];
      list.forEach((x, j) => {
        if (!labels[axis].includes(x)) {
          throw new InputError({ source, path: `exclude[${i}].${axis}${Array.isArray(v) ? `[${j}]` : ''}`, expected: `a value of axes.${AXIS_FIELD[axis]} (${labels[axis].join(', ')})`, got: x });
        }
      });
      match[axis] = list;
    }
    return { reason: e.reason, match, scenarios: 0 };
  });

  const scenarios: PlannedScenario[] = [];
  const idx: Record<Axis, number> = { mode: 0, network: 0, transport: 0, workload: 0, vm: 0, policy: 0 };
  const visit = (depth: number): void => {
    if (depth < AXES.length) {
      const axis = AXES[depth]!;
      for (let i = 0; i < labels[axis].length; i++) {
        idx[axis] = i;
        visit(depth + 1);
      }
      return;
    }
    // A storage-only move has no transport: its scenarios appear once, with transport "-".
    const storageOnly = labels.mode[idx.mode] === 'storage';
    if (storageOnly && idx.transport > 0) return;
    const l = Object.fromEntries(AXES.map((a) => [a, a === 'transport' && storageOnly ? NO_TRANSPORT : labels[a][idx[a]]!])) as Labels;
    const hits = excluded.filter((x) => AXES.every((a) => x.match[a] === undefined || x.match[a]!.includes(l[a])));
    for (const h of hits) h.scenarios++;
    if (hits.length > 0) return;
    const { input, naming } = scenarioInput(loaded, idx);
    const key = AXES.map((a) => l[a]).join('/');
    // Validate now, so a bad value stops the bench before anything runs (exit 2, naming the field).
    resolveScenario({ ...input, seed: 0 }, naming);
    scenarios.push({ index: scenarios.length, key, labels: l, input });
  };
  visit(0);
  if (scenarios.length === 0) throw new InputError({ source, path: 'exclude', expected: 'excludes that leave at least one scenario', got: `${m.exclude.length} excludes` });
  return { scenarios, excluded };
}

/** The seed of one run: derived from the matrix seed, the scenario key and the repeat index. */
export function runSeed(seed: number, scenarioKey: string, repeat: number): number {
  return deriveSeed(seed, 'bench', scenarioKey, repeat);
}

/** The ScenarioInput of one axis combination, and a Naming that points each option at its matrix field. */
function scenarioInput(loaded: Omit<LoadedMatrix, 'file'>, idx: Record<Axis, number>): { input: ScenarioInput; naming: Naming } {
  const { matrix: m, source } = loaded;
  const axes = m.axes!;
  const paths = new Map<OptionKey, string>();
  const input: ScenarioInput = {};
  const put = (key: OptionKey, value: string | number | boolean, path: string): void => {
    input[key] = value;
    paths.set(key, path);
  };
  for (const [k, v] of Object.entries(m.set)) {
    if (v === undefined) continue;
    // A VM spec named in a matrix file is relative to that file, not to where the bench runs.
    const file = 'file' in loaded ? (loaded as LoadedMatrix).file : undefined;
    const value = k === 'vm' && typeof v === 'string' && file !== undefined ? resolve(dirname(file), v) : v;
    put(k as OptionKey, value, `set.${k}`);
  }
  put('mode', axes.modes[idx.mode]!, `axes.modes[${idx.mode}]`);
  const net = axes.networks[idx.network]!;
  put(networkOptionOf(net), net, `axes.networks[${idx.network}]`);
  if (axes.modes[idx.mode] !== 'storage') put('transport', axes.transports[idx.transport]!, `axes.transports[${idx.transport}]`);
  put('workload', axes.workloads[idx.workload]!, `axes.workloads[${idx.workload}]`);
  const vm = axes.vms[idx.vm]!;
  const vmPath = `axes.vms[${idx.vm}]`;
  if (typeof vm === 'object') {
    put('memory', vm.memory, `${vmPath}.memory`);
    if (vm.disk !== undefined) put('disk', vm.disk, `${vmPath}.disk`);
  } else put('memory', vm, vmPath);
  const pol = axes.policies[idx.policy]!;
  const polPath = `axes.policies[${idx.policy}]`;
  if (typeof pol === 'object') {
    put('policy', pol.policy, `${polPath}.policy`);
    const o = policyOptions(pol);
    for (const k of POLICY_OPTION_KEYS) if (o[k] !== undefined) put(k, o[k]!, `${polPath}.${k}`);
  } else put('policy', pol, polPath);
  const naming: Naming = (key) => {
    const def = (OPTIONS as Record<string, { default?: string }>)[key];
    return { source, path: paths.get(key) ?? (def ? `${key} (default${def.default !== undefined ? ` ${def.default}` : ''}; set it under set.${key})` : String(key)) };
  };
  return { input, naming };
}
