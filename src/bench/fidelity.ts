// The validation table (`npm run bench:fidelity`): published measurements of live migrations, each a case
// file under bench/validation/ that says where the figure comes from, the setup as published, how migbench
// models it (a `simulate` scenario, or an evacuation of `vms` VMs), and the figures published. Each is
// simulated and set beside its figure; docs/validation.md explains every miss of more than 25%.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import * as z from 'zod';
import { simulate } from '../drivers/sim/index.js';
import { InputError } from '../errors.js';
import { simulateEvacuation } from '../evacuation/simulate.js';
import { alikeVms } from '../evacuation/spec.js';
import type { LinkSample } from '../evacuation/types.js';
import { protocolEfficiency } from '../network/index.js';
import { resolveScenario, type ScenarioInput } from '../scenario.js';

export const METRICS = ['total_time_s', 'makespan_s', 'downtime_ms', 'memory_bytes_sent', 'link_gbps'] as const;
export type Metric = (typeof METRICS)[number];

const scalar = z.union([z.string(), z.number(), z.boolean()]);
const Published = z.strictObject({
  metric: z.enum(METRICS),
  value: z.number().positive(),
  /** The published figure is a bound: the simulated one fits it when on the right side. */
  bound: z.enum(['at-least', 'at-most']).optional(),
});
const Run = z.strictObject({
  label: z.string().min(1),
  /** An evacuation of this many VMs alike (else one `simulate` run). */
  vms: z.int().min(1).max(1000).optional(),
  maxLive: z.int().min(1).max(64).optional(),
  set: z.record(z.string(), scalar).optional(),
  published: z.array(Published).min(1),
});
export const CaseSchema = z.strictObject({
  case: z.string().regex(/^[a-z0-9-]+$/),
  title: z.string().min(1),
  source: z.string().min(1),
  source_url: z.url(),
  status: z.enum(['confirmed', 'reported']),
  system: z.string().min(1),
  setup: z.string().min(1),
  scenario: z.record(z.string(), scalar),
  runs: z.array(Run).min(1),
});
export type FidelityCase = z.infer<typeof CaseSchema>;

export interface FidelityRow {
  case: string;
  run: string;
  title: string;
  source_url: string;
  status: string;
  metric: Metric;
  bound: string | null;
  published: number;
  simulated: number;
  /** simulated / published */
  ratio: number;
  /** Within 25% of the figure, or on the right side of a bound. */
  within_25pct: boolean;
}

/** Every case file of a directory, validated (errors name the file and the field). */
export function loadCases(dir: string): FidelityCase[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => {
      const path = join(dir, f);
      let doc: unknown;
      try {
        doc = parseYaml(readFileSync(path, 'utf8'));
      } catch (e) {
        throw new InputError({ source: path, expected: 'a YAML case file (bench/validation/README in docs/validation.md)', detail: (e as Error).message.split('\n')[0] });
      }
      const r = CaseSchema.safeParse(doc);
      if (!r.success) {
        const issue = r.error.issues[0]!;
        throw new InputError({ source: path, path: issue.path.join('.') || undefined, expected: issue.message });
      }
      return r.data;
    });
}

/** The payload rate the source's NICs carried together at their busiest second, Gbit/s. */
function peakGbps(samples: readonly LinkSample[], efficiency: number): number {
  const at = new Map<number, number>();
  for (const s of samples) if (s.link.startsWith('source/') && s.link.endsWith('/tx')) at.set(s.t_s, (at.get(s.t_s) ?? 0) + s.bytes_per_s * 8);
  return (Math.max(0, ...at.values()) * efficiency) / 1e9;
}

/** Simulate one run of a case: its figures by metric. */
export function simulateRun(c: FidelityCase, run: FidelityCase['runs'][number]): Partial<Record<Metric, number>> {
  const input = { ...c.scenario, ...(run.set ?? {}) } as ScenarioInput;
  const s = resolveScenario(input);
  if (run.vms === undefined) {
    const r = simulate(s);
    return { total_time_s: r.total_time_s, downtime_ms: r.downtime_ms, memory_bytes_sent: r.memory_bytes_sent };
  }
  const e = simulateEvacuation({ base: input, vms: alikeVms(run.vms, s.memoryBytes), maxLive: run.maxLive ?? 2, maxStorage: 2, destinations: 1, destMemory: null, order: 'inventory', window: null, rolling: null, updateTime: 0, faults: [] });
  return { makespan_s: e.makespan_s, total_time_s: e.makespan_s, link_gbps: peakGbps(e.timeline.samples, protocolEfficiency(s.network.mtu, 'tcp')) };
}

export function runCases(cases: readonly FidelityCase[]): FidelityRow[] {
  const rows: FidelityRow[] = [];
  for (const c of cases) {
    for (const run of c.runs) {
      const got = simulateRun(c, run);
      for (const p of run.published) {
        const simulated = got[p.metric];
        if (simulated === undefined) throw new InputError({ source: `bench/validation/${c.case}.yaml`, path: `runs[${run.label}].published.${p.metric}`, expected: `a metric the run gives (${Object.keys(got).join(', ')})` });
        const ratio = simulated / p.value;
        const within = p.bound === 'at-least' ? ratio >= 0.75 : p.bound === 'at-most' ? ratio <= 1.25 : Math.abs(ratio - 1) <= 0.25;
        rows.push({ case: c.case, run: run.label, title: c.title, source_url: c.source_url, status: c.status, metric: p.metric, bound: p.bound ?? null, published: p.value, simulated, ratio, within_25pct: within });
      }
    }
  }
  return rows;
}
