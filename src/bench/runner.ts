// One bench: run a plan's runs in the pool, with samples of the reference workload spread among them,
// and pair each result with its planned run.

import { performance } from 'node:perf_hooks';
import { median } from 'simple-statistics';
import type { MigrationResult } from '../result.js';
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
  /** Stopped by the signal before every run finished. */
  interrupted: boolean;
  /** Wall-clock time of the whole bench, seconds. */
  wallS: number;
  /** The run that failed (the bench stopped handing out runs after it), with its error code and message. */
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
  const { outputs, references, interrupted, failed } = await runPool(withReferenceSamples(executionOrder(plan.runs), opts.threads), {
    threads: opts.threads,
    ...(opts.signal ? { signal: opts.signal } : {}),
    onRun: (done, total) => opts.onRun?.(done, total),
  });
  const runs = outputs.map((o) => ({ planned: byIndex.get(o.index)!, result: o.result, wallMs: o.wallMs, cpuMs: o.cpuMs })).sort((a, b) => a.planned.index - b.planned.index);
  const failure = failed ? { runId: byIndex.get(failed.index)?.runId ?? '(reference workload)', ...failed.error } : null;
  const samples = references.map((r) => r.wallMs);
  const cpu = references.map((r) => r.cpuMs).filter((x): x is number => x !== null);
  const us = (x: number): number => Math.round(x * 1000) / 1000;
  const reference =
    samples.length > 0
      ? { version: REFERENCE_VERSION, samples_ms: samples.map(us), median_ms: median(samples), cpu_samples_ms: cpu.map(us), cpu_median_ms: cpu.length === samples.length ? median(cpu) : null }
      : null;
  return { runs, interrupted, failure, reference, wallS: (performance.now() - t0) / 1000 };
}

/**
 * The order runs are handed to the pool: repeat by repeat (every scenario's repeat 0, then every
 * scenario's repeat 1, ...), so the repeats of one scenario are spread over the whole bench rather than
 * run back to back under the same momentary machine load. That keeps their wall times closer to
 * independent samples, which Welch's test in `compare` assumes. Results do not depend on this order.
 */
export function executionOrder(runs: readonly PlannedRun[]): PlannedRun[] {
  return [...runs].sort((a, b) => a.repeat - b.repeat || a.index - b.index);
}

/** Samples of the reference workload per bench: 8 per thread at least, one per 20 runs, at most 100. */
export function referenceSampleCount(runs: number, threads: number): number {
  return Math.min(100, Math.max(8 * threads, Math.ceil(runs / 20)));
}

/**
 * The pool's tasks: the runs in order, with reference samples evenly among them (the first ones at the
 * start, so that even an interrupted bench has some), measured by the same threads under the same load
 * as the runs around them. Reference tasks have negative indexes.
 */
export function withReferenceSamples(runs: readonly PlannedRun[], threads: number): Task[] {
  const n = referenceSampleCount(runs.length, threads);
  const tasks: Task[] = [];
  let placed = 0;
  runs.forEach((r, i) => {
    // Place sample k before run floor(k * runs / n).
    while (placed < n && Math.floor((placed * runs.length) / n) <= i) tasks.push({ kind: 'reference', index: -1 - placed++ });
    tasks.push({ index: r.index, input: { ...r.scenario.input, seed: r.seed } });
  });
  while (placed < n) tasks.push({ kind: 'reference', index: -1 - placed++ });
  return tasks;
}
