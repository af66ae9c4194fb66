// Runs tasks (planned runs, evacuation runs, and samples of the reference workload) in a piscina worker
// pool with an explicit thread count. At most `window` tasks are in flight, so an abort (Ctrl-C) stops scheduling at
// once: the tasks in flight finish, the rest never start, and the caller keeps every finished result.
// Results come back keyed by their kind and index, so the order of completion never reaches a report.

import { Piscina } from 'piscina';
import { MigbenchError } from '../errors.js';
import { workerFile } from './paths.js';
import type { EvacuationOutput, ReferenceOutput, RunFailure, RunOutput, Task, TaskOutput } from './worker.js';

export interface PoolOptions {
  threads: number;
  signal?: AbortSignal;
  /** Called after each finished run or evacuation (for progress; reference samples are not counted). */
  onRun?: (done: number, total: number, out: RunOutput | EvacuationOutput) => void;
}

export interface PoolResult {
  /** Finished runs, in the order of the tasks. */
  outputs: RunOutput[];
  /** Finished evacuation runs, in the order of the tasks. */
  evacuations: EvacuationOutput[];
  /** Finished reference samples, in the order of the tasks. */
  references: ReferenceOutput[];
  /** True when the signal (or a failed run) stopped the bench before every run and evacuation finished. */
  interrupted: boolean;
  /** The first run that failed, if any: the pool stops handing out runs after it. */
  failed: RunFailure | null;
}

export async function runPool(tasks: readonly Task[], opts: PoolOptions): Promise<PoolResult> {
  if (!Number.isInteger(opts.threads) || opts.threads < 1) throw new MigbenchError('E_INPUT', `threads must be a whole number >= 1, got ${opts.threads}`);
  const pool = new Piscina<Task, TaskOutput>({
    filename: workerFile(),
    minThreads: opts.threads,
    maxThreads: opts.threads,
    // 'sync' (the default) parks an idle worker in Atomics.wait, freezing its timers and sockets.
    atomics: 'disabled',
    idleTimeout: 1000,
  });
  const byKey = new Map<string, RunOutput | EvacuationOutput | ReferenceOutput>();
  const keyOf = (t: { kind?: string; index: number }): string => `${t.kind ?? 'run'}:${t.index}`;
  const totalRuns = tasks.filter((t) => t.kind !== 'reference').length;
  let runsDone = 0;
  const window = opts.threads * 2;
  let next = 0;
  let failure: unknown = null;
  let failed: RunFailure | null = null;
  const stopped = (): boolean => failure !== null || failed !== null || opts.signal?.aborted === true;
  try {
    await new Promise<void>((resolveAll) => {
      let inFlight = 0;
      const pump = (): void => {
        while (!stopped() && inFlight < window && next < tasks.length) {
          const task = tasks[next++]!;
          inFlight++;
          pool
            .run(task)
            .then(
              (out) => {
                if ('error' in out) {
                  failed ??= out;
                  return;
                }
                byKey.set(keyOf(out), out);
                if (out.kind !== 'reference') opts.onRun?.(++runsDone, totalRuns, out);
              },
              (err: unknown) => {
                failure ??= err;
              },
            )
            .finally(() => {
              inFlight--;
              pump();
            });
        }
        if (inFlight === 0 && (stopped() || next >= tasks.length)) resolveAll();
      };
      opts.signal?.addEventListener('abort', () => pump(), { once: true });
      pump();
    });
  } finally {
    await pool.destroy();
  }
  if (failure !== null) throw failure;
  const done = tasks.map((t) => byKey.get(keyOf(t))).filter((o) => o !== undefined);
  const outputs = done.filter((o): o is RunOutput => o.kind === undefined);
  const evacuations = done.filter((o): o is EvacuationOutput => o.kind === 'evacuation');
  const references = done.filter((o): o is ReferenceOutput => o.kind === 'reference');
  return { outputs, evacuations, references, interrupted: outputs.length + evacuations.length < totalRuns, failed };
}
