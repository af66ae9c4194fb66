// meta.json: what produced a report (migbench version, git revision, Node, machine, matrix hash, seed,
// shard, threads) and how the bench went (runs planned and finished, interrupted, wall time).

import { createHash } from 'node:crypto';
import { availableParallelism, cpus, hostname, totalmem } from 'node:os';
import type { Matrix } from '../bench/matrix.js';
import type { ExcludeReport, Plan } from '../bench/plan.js';
import { PLANTED_SLOWDOWN_ENV } from '../bench/planted.js';
import type { ReferenceMeasure } from '../bench/runner.js';
import { buildInfo, VERSION, type BuildInfo } from '../version.js';

export interface Machine {
  platform: string;
  arch: string;
  cpu_model: string;
  cpus: number;
  /** CPUs this process may run on (its affinity: `taskset`, a container's CPU set). */
  cpus_available?: number;
  memory_bytes: number;
  hostname: string;
}

export interface BenchMeta {
  /** Identifies this report; also the report_id column of every runs.csv row. */
  report_id: string;
  migbench_version: string;
  /** migbench's own revision (from dist/build-info.json, or the package's own checkout), never a consumer's. */
  git_revision: string | null;
  git_dirty: boolean | null;
  git_revision_source: BuildInfo['source'];
  node_version: string;
  machine: Machine;
  matrix: {
    name: string;
    file: string;
    /** SHA-256 of the validated matrix as canonical JSON (keys sorted): formatting and comments do not count. */
    sha256: string;
    seed: number;
    repeats: number;
    scenarios: number;
    scenarios_total: number;
    excluded: ExcludeReport[];
  };
  shard: string | null;
  threads: number;
  runs_planned: number;
  runs_finished: number;
  interrupted: boolean;
  started_at: string;
  finished_at: string;
  wall_s: number;
  /** Columns of runs.csv that differ between two runs of the same matrix and seed. */
  nondeterministic_columns: string[];
  /** The matrix's evacuations (evacuations.csv, evacuation-vms.csv); null when it has none. */
  evacuations: EvacuationsMeta | null;
  /** The reference workload's wall times in this bench (null when not measured). */
  reference_workload: ReferenceMeasure | null;
  /** Test-only: the planted slowdown factor the bench ran with (MIGBENCH_TEST_PLANTED_SLOWDOWN), or null. */
  planted_slowdown: number | null;
  warnings: string[];
}

export interface EvacuationsMeta {
  /** Evacuation scenarios in this report, and in the whole matrix (before sharding). */
  scenarios: number;
  scenarios_total: number;
  repeats: number;
  runs_planned: number;
  runs_finished: number;
  /** Simulated VM migrations the planned evacuation runs make (each run moves its VM count). */
  vms_planned: number;
  /** Columns of evacuations.csv that differ between two benches of the same matrix and seed. */
  nondeterministic_columns: string[];
}

export function machineInfo(): Machine {
  const c = cpus();
  return { platform: process.platform, arch: process.arch, cpu_model: c[0]?.model.trim() ?? 'unknown', cpus: c.length, cpus_available: availableParallelism(), memory_bytes: totalmem(), hostname: hostname() };
}

/** The same machine for wall-time purposes: CPU model and count, and the CPUs the bench could use. */
export const machineFingerprint = (m: Pick<Machine, 'cpu_model' | 'cpus' | 'cpus_available'>): string =>
  `${m.cpus} x ${m.cpu_model}${m.cpus_available !== undefined && m.cpus_available !== m.cpus ? ` (${m.cpus_available} available)` : ''}`;

/** Canonical JSON: object keys sorted at every level. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

export function matrixHash(m: Matrix): string {
  const { $schema: _ignored, ...rest } = m;
  return createHash('sha256').update(canonicalJson(rest)).digest('hex');
}

export interface MetaInput {
  reportId: string;
  plan: Plan;
  matrix: Matrix;
  file: string;
  threads: number;
  runsFinished: number;
  interrupted: boolean;
  startedAt: Date;
  finishedAt: Date;
  wallS: number;
  root: string;
  nondeterministic: readonly string[];
  reference?: ReferenceMeasure | null;
  planted?: number | null;
  /** Finished evacuation runs (default 0). */
  evacuationsFinished?: number;
  evacuationNondeterministic?: readonly string[];
}

export function benchMeta(i: MetaInput): BenchMeta {
  const build = buildInfo(i.root);
  return {
    report_id: i.reportId,
    migbench_version: VERSION,
    git_revision: build.git_revision,
    git_dirty: build.git_dirty,
    git_revision_source: build.source,
    node_version: process.version,
    machine: machineInfo(),
    matrix: {
      name: i.plan.name,
      file: i.file,
      sha256: matrixHash(i.matrix),
      seed: i.plan.seed,
      repeats: i.plan.repeats,
      scenarios: i.plan.scenarios.length,
      scenarios_total: i.plan.totalScenarios,
      excluded: i.plan.excluded,
    },
    shard: i.plan.shard ? `${i.plan.shard.index}/${i.plan.shard.count}` : null,
    threads: i.threads,
    runs_planned: i.plan.runs.length,
    runs_finished: i.runsFinished,
    interrupted: i.interrupted,
    started_at: i.startedAt.toISOString(),
    finished_at: i.finishedAt.toISOString(),
    wall_s: Math.round(i.wallS * 1000) / 1000,
    nondeterministic_columns: [...i.nondeterministic],
    evacuations: i.plan.evacuations
      ? {
          scenarios: i.plan.evacuations.scenarios.length,
          scenarios_total: i.plan.evacuations.totalScenarios,
          repeats: i.plan.evacuations.repeats,
          runs_planned: i.plan.evacuations.runs.length,
          runs_finished: i.evacuationsFinished ?? 0,
          vms_planned: i.plan.evacuations.runs.reduce((t, r) => t + r.scenario.labels.vms, 0),
          nondeterministic_columns: [...(i.evacuationNondeterministic ?? [])],
        }
      : null,
    reference_workload: i.reference ?? null,
    planted_slowdown: i.planted ?? null,
    warnings: [
      ...i.plan.warnings,
      ...(i.planted ? [`TEST ONLY: a slowdown of ${i.planted}x was planted in every run (${PLANTED_SLOWDOWN_ENV}); these wall times are not real`] : []),
    ],
  };
}
