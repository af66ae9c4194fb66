// Scenario matrix files (YAML or JSON): the schema (zod, exported as JSON Schema for editors), loading a
// named matrix from bench/ or a file, and turning schema errors into InputErrors that name the file and
// the field path (`bench/default.yaml: axes.networks[2]`). Values that name models (network profiles,
// sizes, modes) are checked again by resolveScenario when the matrix is expanded (see plan.ts).

import { existsSync, readFileSync } from 'node:fs';
import { extname, isAbsolute, join, relative, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import * as z from 'zod';
import { InputError } from '../errors.js';
import { WORKLOAD_NAMES } from '../guest/workload.js';
import { MODES, POLICIES, TRANSPORTS } from '../result.js';
import { OPTIONS, OPTION_KEYS, type OptionKey } from '../scenario.js';
import { EVACUATION_KNOWN_KEYS, EvacuationsSchema, type Evacuations } from './evacuation-schema.js';
import { packageRoot } from './paths.js';
import { NetworkEntry } from './network-axis.js';

const scalar = z.union([z.string(), z.number(), z.boolean()]);
const size = z.union([z.string(), z.number()]);
const label = z.string().min(1);
const oneOrMany = z.union([label, z.array(label).min(1)]);

/** Keys the axes set (and the seed): `set` may not set these (`disk` belongs to the VM axis). */
export const AXIS_OPTION_KEYS: readonly OptionKey[] = ['mode', 'network', 'transport', 'workload', 'memory', 'disk', 'policy', 'seed'];
/** Options a policy entry may carry besides `policy`. */
export const POLICY_OPTION_KEYS = ['maxPasses', 'downtimeLimit', 'autoConverge', 'onNoConverge'] as const satisfies readonly OptionKey[];

const optionShape = (keys: readonly OptionKey[]) =>
  Object.fromEntries(keys.map((k) => [k, scalar.optional().describe(`${OPTIONS[k].help} (${OPTIONS[k].flag}${OPTIONS[k].form ? ' ' + OPTIONS[k].form : ''})`)]));

const VmEntry = z.union([
  size.describe('guest memory, such as 8GiB'),
  z.strictObject({
    name: label.optional().describe('label in reports (default: memory, or memory+disk)'),
    memory: size.describe('guest memory, such as 8GiB'),
    disk: size.optional().describe('virtual disk size, such as 100GiB (modes that move storage)'),
  }),
]);

const PolicyEntry = z.union([
  z.enum(POLICIES),
  z.strictObject({
    name: label.optional().describe('label in reports (default: the policy and its options)'),
    policy: z.enum(POLICIES),
    ...optionShape(POLICY_OPTION_KEYS),
  }),
]);

const Axes = z.strictObject({
  modes: z.array(z.enum(MODES)).min(1).describe('migration modes'),
  networks: z.array(NetworkEntry).min(1).describe('networks: profiles or NIC specs'),
  transports: z.array(z.enum(TRANSPORTS)).min(1).describe("Hyper-V performance options"),
  workloads: z.array(z.enum(WORKLOAD_NAMES as [string, ...string[]])).min(1).describe('workload presets'),
  vms: z.array(VmEntry).min(1).describe('VM sizes: a memory size, or {name, memory, disk}'),
  policies: z.array(PolicyEntry).min(1).describe('pre-copy stop policies: a name, or {name, policy, options}'),
});

const Exclude = z
  .strictObject({
    reason: z.string().min(1).describe('why these combinations mean nothing (listed in reports and docs)'),
    mode: oneOrMany.optional(),
    network: oneOrMany.optional(),
    transport: oneOrMany.optional(),
    workload: oneOrMany.optional(),
    vm: oneOrMany.optional().describe('VM labels'),
    policy: oneOrMany.optional().describe('policy labels'),
  })
  .refine((e) => Object.keys(e).some((k) => k !== 'reason'), { message: 'at least one of mode, network, transport, workload, vm, policy' });

// `nics` replaces the network, which the networks axis sets: as an option of every run it would
// override the axis silently (NIC specs go in the networks axis itself).
const settable = OPTION_KEYS.filter((k) => !AXIS_OPTION_KEYS.includes(k) && k !== 'nics');

export const MatrixSchema = z.strictObject({
  $schema: z.string().optional().describe('path of this JSON Schema, for editors'),
  description: z.string().optional(),
  seed: z.int().min(0).max(2 ** 32 - 1).default(1).describe('base seed: each run seed derives from it, the scenario key and the repeat index'),
  repeats: z.int().min(1).max(1000).default(1).describe('runs per scenario'),
  axes: Axes.optional().describe('the single-migration scenarios (required unless the matrix has evacuations)'),
  set: z.strictObject(optionShape(settable)).default({}).describe('options applied to every run'),
  exclude: z.array(Exclude).default([]).describe('combinations left out on purpose, each with its reason'),
  evacuations: EvacuationsSchema.optional(),
});

export type Matrix = z.output<typeof MatrixSchema>;
export type { Evacuations };
export type VmEntryT = z.output<typeof VmEntry>;
export type PolicyEntryT = z.output<typeof PolicyEntry>;

export interface LoadedMatrix {
  /** Matrix name: the file name without extension. */
  name: string;
  /** The file, as shown in messages (relative to the working directory when inside it). */
  source: string;
  /** Absolute path. */
  file: string;
  matrix: Matrix;
}

/** The JSON Schema of matrix files (bench/matrix.schema.json is this, written by `npm run bench:schema`). */
export function matrixJsonSchema(): Record<string, unknown> {
  return { title: 'migbench scenario matrix', ...z.toJSONSchema(MatrixSchema, { io: 'input' }) } as Record<string, unknown>;
}

const MATRIX_EXTS = ['.yaml', '.yml', '.json'];

/** Resolve `--matrix NAME|FILE`: a name looks in the package's bench/ folder; anything else is a path. */
export function locateMatrix(spec: string, cwd = process.cwd()): string {
  if (/^[A-Za-z0-9_-]+$/.test(spec)) {
    for (const ext of MATRIX_EXTS) {
      const f = join(packageRoot(), 'bench', spec + ext);
      if (existsSync(f)) return f;
    }
    const local = resolve(cwd, spec);
    if (existsSync(local)) return local;
    throw new InputError({ source: '--matrix', expected: `a named matrix (${namedMatrices().join(', ')}) or a .yaml/.json file`, got: spec });
  }
  const f = resolve(cwd, spec);
  if (!existsSync(f)) throw new InputError({ source: '--matrix', expected: 'an existing matrix file (.yaml, .yml or .json)', got: spec });
  return f;
}

/** Names of the matrices in the package's bench/ folder. */
export function namedMatrices(): string[] {
  return ['default', 'nightly', 'quick'].filter((n) => MATRIX_EXTS.some((e) => existsSync(join(packageRoot(), 'bench', n + e))));
}

export function displayPath(file: string, cwd = process.cwd()): string {
  const rel = relative(cwd, file);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}

export function loadMatrix(spec: string, cwd = process.cwd()): LoadedMatrix {
  const file = locateMatrix(spec, cwd);
  const source = displayPath(file, cwd);
  const text = readFileSync(file, 'utf8');
  return { ...parseMatrix(text, source, extname(file) === '.json' ? 'json' : 'yaml'), file };
}

/** Parse and validate matrix text. `source` names the file in errors. */
export function parseMatrix(text: string, source: string, format: 'json' | 'yaml'): Omit<LoadedMatrix, 'file'> {
  let raw: unknown;
  try {
    raw = format === 'json' ? JSON.parse(text) : parseYaml(text, { prettyErrors: true });
  } catch (err) {
    throw new InputError({ source, expected: format === 'json' ? 'valid JSON' : 'valid YAML', detail: (err as Error).message.split('\n')[0] });
  }
  // A matrix is a few levels deep; a deeper value is refused before anything walks it recursively.
  const deep = depthBeyond(raw, MAX_DEPTH);
  if (deep) throw new InputError({ source, path: formatPath(deep), expected: `a matrix nested at most ${MAX_DEPTH} levels deep` });
  const r = MatrixSchema.safeParse(raw);
  if (!r.success) {
    // An unknown field (often a typo) explains a missing one better than the other way round.
    const issues = [...r.error.issues].sort((a, b) => Number(b.code === 'unrecognized_keys') - Number(a.code === 'unrecognized_keys'));
    throw issueToInputError(issues[0]!, raw, source);
  }
  if (r.data.axes === undefined && r.data.evacuations === undefined) {
    throw new InputError({ source, path: 'axes', expected: 'a value (object): the field is required (unless the matrix has an evacuations section)' });
  }
  checkMatrixSize(r.data, source);
  const name = source.replace(/^.*[\\/]/, '').replace(/\.(ya?ml|json)$/i, '');
  return { name, source, matrix: r.data };
}

/** Deepest nesting of objects and arrays a matrix file may have (the schema itself needs 4). */
export const MAX_DEPTH = 32;
/** Most combinations of the axes (before excludes) and most runs (combinations x repeats) a matrix may expand to. */
export const MAX_SCENARIOS = 100_000;
export const MAX_RUNS = 1_000_000;

/** The path to the first value nested deeper than `limit` levels, or null (iterative: no stack to overflow). */
function depthBeyond(root: unknown, limit: number): PropertyKey[] | null {
  const stack: { v: unknown; path: PropertyKey[] }[] = [{ v: root, path: [] }];
  while (stack.length > 0) {
    const { v, path } = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (path.length >= limit) return path;
    for (const [k, child] of Object.entries(v)) stack.push({ v: child, path: [...path, Array.isArray(v) ? Number(k) : k] });
  }
  return null;
}

/**
 * Refuse a matrix that would expand past MAX_SCENARIOS combinations or MAX_RUNS simulations (`repeats`:
 * the matrix's own, or --repeats), naming the file and the count, before anything is expanded. An
 * evacuation run costs about one simulation per VM it moves, so evacuations count their VMs.
 */
export function checkMatrixSize(m: Matrix, source: string, repeats = m.repeats): void {
  const a = m.axes;
  const combos = a ? [a.modes, a.networks, a.transports, a.workloads, a.vms, a.policies].reduce((n, axis) => n * axis.length, 1) : 0;
  if (combos > MAX_SCENARIOS) {
    throw new InputError({ source, path: 'axes', expected: `at most ${MAX_SCENARIOS.toLocaleString('en-US')} combinations of the axes (split the matrix)`, got: `${combos.toLocaleString('en-US')} combinations` });
  }
  if (combos * repeats > MAX_RUNS) {
    throw new InputError({ source, path: 'repeats', expected: `at most ${MAX_RUNS.toLocaleString('en-US')} runs (combinations of the axes x repeats)`, got: `${combos.toLocaleString('en-US')} combinations x ${repeats} repeats = ${(combos * repeats).toLocaleString('en-US')} runs` });
  }
  const e = m.evacuations;
  if (!e) return;
  const ea = e.axes;
  const others = ea.maxLive.length * ea.networks.length * ea.transports.length;
  const evacuations = ea.vms.length * others;
  if (combos + evacuations > MAX_SCENARIOS) {
    throw new InputError({ source, path: 'evacuations.axes', expected: `at most ${MAX_SCENARIOS.toLocaleString('en-US')} scenarios, runs and evacuations together (split the matrix)`, got: `${combos.toLocaleString('en-US')} + ${evacuations.toLocaleString('en-US')} evacuation scenarios` });
  }
  const er = e.repeats ?? repeats;
  const vms = ea.vms.reduce((t, n) => t + n, 0) * others * er;
  const fmt = (n: number): string => n.toLocaleString('en-US');
  if (combos * repeats + vms > MAX_RUNS) {
    throw new InputError({
      source,
      path: 'evacuations',
      expected: `at most ${fmt(MAX_RUNS)} simulations (an evacuation run costs about one simulation per VM it moves, so its VMs are counted)`,
      got: `${fmt(combos * repeats)} runs + ${fmt(evacuations)} evacuations x ${er} repeats moving ${fmt(vms)} VMs = ${fmt(combos * repeats + vms)} simulations`,
    });
  }
}

/** `axes.networks[2]` from ['axes', 'networks', 2]. */
export function formatPath(path: readonly PropertyKey[]): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s === '' ? String(p) : `.${String(p)}`;
  return s === '' ? '(top level)' : s;
}

function at(raw: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = raw;
  for (const p of path) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[p] : undefined;
  return v;
}

type Issue = z.core.$ZodIssue;

function issueToInputError(issue: Issue, raw: unknown, source: string, prefix: readonly PropertyKey[] = []): InputError {
  const path = [...prefix, ...issue.path];
  switch (issue.code) {
    case 'invalid_union': {
      // Report the branch that got furthest into the value (an object entry's own field error).
      const branches = issue.errors.filter((b) => b.length > 0);
      const best = branches.reduce((a, b) => (depth(b) > depth(a) ? b : a), branches[0] ?? []);
      if (best.length > 0 && depth(best) > 0) return issueToInputError(best[0]!, raw, source, path);
      return new InputError({ source, path: formatPath(path), expected: unionForm(path), got: at(raw, path) });
    }
    case 'unrecognized_keys': {
      const key = issue.keys[0]!;
      const known = Object.keys(knownKeysAt(path));
      return new InputError({ source, path: formatPath([...path, key]), expected: `a known field (${known.join(', ')})`, got: key });
    }
    case 'invalid_value':
      return new InputError({ source, path: formatPath(path), expected: `one of ${issue.values.map(String).join(', ')}`, got: at(raw, path) });
    default:
      if (issue.code === 'invalid_type' && at(raw, path) === undefined) {
        return new InputError({ source, path: formatPath(path), expected: `a value (${issue.expected}): the field is required` });
      }
      return new InputError({ source, path: formatPath(path), expected: issue.message.replace(/^Invalid input: /, '').replace(/^expected /, ''), got: at(raw, path) });
  }
}

const depth = (issues: readonly Issue[]): number => Math.max(0, ...issues.map((i) => i.path.length));

function unionForm(path: readonly PropertyKey[]): string {
  if (path.includes('vms')) return 'a memory size such as 8GiB, or {name, memory, disk}';
  if (path.includes('policies')) return `a policy (${POLICIES.join(', ')}), or {name, policy, ${POLICY_OPTION_KEYS.join(', ')}}`;
  if (path.includes('exclude')) return 'a value or a list of values';
  return 'a string, number or boolean';
}

function knownKeysAt(path: readonly PropertyKey[]): Record<string, unknown> {
  const named = path.filter((p) => typeof p === 'string');
  const last = named[named.length - 1];
  if (path.length === 0) return MatrixSchema.shape;
  if (named[0] === 'evacuations') {
    const keys = path.length === 1 ? EVACUATION_KNOWN_KEYS.top : last === 'axes' ? EVACUATION_KNOWN_KEYS.axes : last === 'set' ? EVACUATION_KNOWN_KEYS.set : [];
    return Object.fromEntries(keys.map((k) => [k, 1]));
  }
  if (last === 'axes') return Axes.shape;
  if (last === 'set') return Object.fromEntries(settable.map((k) => [k, 1]));
  if (last === 'exclude') return { reason: 1, mode: 1, network: 1, transport: 1, workload: 1, vm: 1, policy: 1 };
  if (last === 'vms') return { name: 1, memory: 1, disk: 1 };
  if (last === 'policies') return Object.fromEntries(['name', 'policy', ...POLICY_OPTION_KEYS].map((k) => [k, 1]));
  return {};
}
