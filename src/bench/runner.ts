// One bench: run a plan's runs in the pool and pair each result with its planned run.

import { performance } from 'node:perf_hooks';
import type { MigrationResult } from '../result.js';
import type { Plan, PlannedRun } from './plan.js';
import { runPool } from './pool.js';

export interface BenchRun {
  planned: PlannedRun;
  result: MigrationResult;
  /** Wall-clock time of the simulation, milliseconds (the harness_wall_ms column). */
  wallMs: number;
}

export interface BenchOutcome {
  runs: BenchRun[];
  /** Stopped by the signal before every run finished. */
  interrupted: boolean;
  /** Wall-clock time of the whole bench, seconds. */
  wallS: number;
  /** The run that failed (the bench stopped handing out runs after it), with its error code and message. */
  failure: { runId: string; code: string; message: string } | null;
}

export interface RunBenchOptions {
  threads: number;
  signal?: AbortSignal;
  onRun?: (done: number, total: number) => void;
}

export async function runBench(plan: Plan, opts: RunBenchOptions): Promise<BenchOutcome> {
  const t0 = performance.now();
  const byIndex = new Map(plan.runs.map((r) => [r.index, r]));
  const { outputs, interrupted, failed } = await runPool(executionOrder(plan.runs), {
    threads: opts.threads,
    ...(opts.signal ? { signal: opts.signal } : {}),
    onRun: (done, total) => opts.onRun?.(done, total),
  });
  const runs = outputs.map((o) => ({ planned: byIndex.get(o.index)!, result: o.result, wallMs: o.wallMs })).sort((a, b) => a.planned.index - b.planned.index);
  const failure = failed ? { runId: byIndex.get(failed.index)!.runId, ...failed.error } : null;
  return { runs, interrupted, failure, wallS: (performance.now() - t0) / 1000 };
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
