// One bench: run a plan's runs and evacuation runs in the pool, with samples of the reference workload
// spread among them, and pair each result with its planned run.

import { performance } from 'node:perf_hooks';
import { median } from 'simple-statistics';
import type { EvacuationResult } from '../evacuation/types.js';
import type { MigrationResult } from '../result.js';
import type { PlannedEvacuationRun } from './evacuation-plan.js';
import type { Plan, PlannedRun } from './plan.js';
import { runPool } from './pool.js';
import { REFERENCE_VERSION } from './reference.js';
import type { Task } from './worker.js';

export interface BenchRun {
  planned: PlannedRun;
  result: MigrationResult;
  /** Wall-clock time of the simulation, milliseconds (the harness_wall_ms column). */
  wallMs: number;
  /** CPU time of the worker thread during the simulation, milliseconds (harness_cpu_ms); null when unknown. */
  cpuMs?: number | null;
}

/** One evacuation run of the bench: a whole drain (evacuations.csv, evacuation-vms.csv). */
export interface BenchEvacuation {
  planned: PlannedEvacuationRun;
  result: EvacuationResult;
  /** Wall-clock time of the evacuation's simulation, milliseconds. */
  wallMs: number;
  cpuMs: number | null;
}

/** The reference workload's wall and CPU times in this bench (meta.json `reference_workload`). */
export interface ReferenceMeasure {
  version: number;
  samples_ms: number[];
  /** What each run's wall time is divided by (runs.csv `harness_wall_ratio`). */
  median_ms: number;
  /** The samples' CPU times (empty where the system does not say). */
  cpu_samples_ms: number[];
  /** What each run's CPU time is divided by (runs.csv `harness_cpu_ratio`); null when unknown. */
  cpu_median_ms: number | null;
}

export interface BenchOutcome {
  runs: BenchRun[];
  /** Finished evacuation runs, in expansion order (absent: the bench had none). */
  evacuations?: BenchEvacuation[];
  /** Stopped by the signal before every run finished. */
  interrupted: boolean;
  /** Wall-clock time of the whole bench, seconds. */
  wallS: number;
  /** The run (or evacuation run) that failed (the bench stopped handing out runs after it), with its error code and message. */
  failure: { runId: string; code: string; message: string } | null;
  /** Null when no sample finished (or the bench was not run by the pool, as bench:real's). */
  reference?: ReferenceMeasure | null;
}

export interface RunBenchOptions {
  threads: number;
  signal?: AbortSignal;
  onRun?: (done: number, total: number) => void;
}

export async function runBench(plan: Plan, opts: RunBenchOptions): Promise<BenchOutcome> {
  const t0 = performance.now();
  const byIndex = new Map(plan.runs.map((r) => [r.index, r]));
  const evacuationRuns = plan.evacuations?.runs ?? [];
  const evacuationByIndex = new Map(evacuationRuns.map((r) => [r.index, r]));
  const { outputs, evacuations, references, interrupted, failed } = await runPool(withReferenceSamples(executionOrder(plan.runs), opts.threads, executionOrder(evacuationRuns)), {
    threads: opts.threads,
    ...(opts.signal ? { signal: opts.signal } : {}),
    onRun: (done, total) => opts.onRun?.(done, total),
  });
  const runs = outputs.map((o) => ({ planned: byIndex.get(o.index)!, result: o.result, wallMs: o.wallMs, cpuMs: o.cpuMs })).sort((a, b) => a.planned.index - b.planned.index);
  const evacs = evacuations.map((o) => ({ planned: evacuationByIndex.get(o.index)!, result: o.result, wallMs: o.wallMs, cpuMs: o.cpuMs })).sort((a, b) => a.planned.index - b.planned.index);
  const failedId = failed ? (failed.kind === 'evacuation' ? evacuationByIndex : byIndex).get(failed.index)?.runId : undefined;
  const failure = failed ? { runId: failedId ?? '(reference workload)', ...failed.error } : null;
  const samples = references.map((r) => r.wallMs);
  const cpu = references.map((r) => r.cpuMs).filter((x): x is number => x !== null);
  const us = (x: number): number => Math.round(x * 1000) / 1000;
  const reference =
    samples.length > 0
      ? { version: REFERENCE_VERSION, samples_ms: samples.map(us), median_ms: median(samples), cpu_samples_ms: cpu.map(us), cpu_median_ms: cpu.length === samples.length ? median(cpu) : null }
      : null;
  return { runs, ...(plan.evacuations ? { evacuations: evacs } : {}), interrupted, failure, reference, wallS: (performance.now() - t0) / 1000 };
}

/**
 * The order runs are handed to the pool: repeat by repeat (every scenario's repeat 0, then every
 * scenario's repeat 1, ...), so the repeats of one scenario are spread over the whole bench rather than
 * run back to back under the same momentary machine load. That keeps their wall times closer to
 * independent samples, which Welch's test in `compare` assumes. Results do not depend on this order.
 */
export function executionOrder<R extends { repeat: number; index: number }>(runs: readonly R[]): R[] {
  return [...runs].sort((a, b) => a.repeat - b.repeat || a.index - b.index);
}

/** Samples of the reference workload per bench: 8 per thread at least, one per 20 runs, at most 100. */
export function referenceSampleCount(runs: number, threads: number): number {
  return Math.min(100, Math.max(8 * threads, Math.ceil(runs / 20)));
}

/**
 * The pool's tasks: the evacuation runs first (each a whole drain, the longest tasks: started first, they
 * do not leave one thread busy at the end), then the runs, with reference samples evenly among them all
 * (the first ones at the start, so that even an interrupted bench has some), measured by the same threads
 * under the same load as the tasks around them. Reference tasks have negative indexes.
 */
export function withReferenceSamples(runs: readonly PlannedRun[], threads: number, evacuations: readonly PlannedEvacuationRun[] = []): Task[] {
  const work: Task[] = [
    ...evacuations.map((r): Task => ({ kind: 'evacuation', index: r.index, input: { ...r.scenario.input, seed: r.seed }, evacuation: r.scenario.evacuation })),
    ...runs.map((r): Task => ({ index: r.index, input: { ...r.scenario.input, seed: r.seed } })),
  ];
  const n = referenceSampleCount(work.length, threads);
  const tasks: Task[] = [];
  let placed = 0;
  work.forEach((t, i) => {
    // Place sample k before task floor(k * tasks / n).
    while (placed < n && Math.floor((placed * work.length) / n) <= i) tasks.push({ kind: 'reference', index: -1 - placed++ });
    tasks.push(t);
  });
  while (placed < n) tasks.push({ kind: 'reference', index: -1 - placed++ });
  return tasks;
}
