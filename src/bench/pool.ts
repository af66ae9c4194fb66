// Runs planned runs in a piscina worker pool with an explicit thread count. At most `window` tasks are
// in flight, so an abort (Ctrl-C) stops scheduling at once: the runs in flight finish, the rest never
// start, and the caller keeps every finished result. Results come back keyed by their plan index, so
// the order of completion never reaches a report.

import { Piscina } from 'piscina';
import { MigbenchError } from '../errors.js';
import { workerFile } from './paths.js';
import type { PlannedRun } from './plan.js';
import type { RunFailure, RunOutput, RunTask } from './worker.js';

export interface PoolOptions {
  threads: number;
  signal?: AbortSignal;
  /** Called after each finished run (for progress). */
  onRun?: (done: number, total: number, out: RunOutput) => void;
}

export interface PoolResult {
  /** Finished runs, in plan order. */
  outputs: RunOutput[];
  /** True when the signal (or a failed run) stopped the bench before every run finished. */
  interrupted: boolean;
  /** The first run that failed, if any: the pool stops handing out runs after it. */
  failed: RunFailure | null;
}

export async function runPool(runs: readonly PlannedRun[], opts: PoolOptions): Promise<PoolResult> {
  if (!Number.isInteger(opts.threads) || opts.threads < 1) throw new MigbenchError('E_INPUT', `threads must be a whole number >= 1, got ${opts.threads}`);
  const pool = new Piscina<RunTask, RunOutput | RunFailure>({
    filename: workerFile(),
    minThreads: opts.threads,
    maxThreads: opts.threads,
    // 'sync' (the default) parks an idle worker in Atomics.wait, freezing its timers and sockets.
    atomics: 'disabled',
    idleTimeout: 1000,
  });
  const byIndex = new Map<number, RunOutput>();
  const window = opts.threads * 2;
  let next = 0;
  let failure: unknown = null;
  let failed: RunFailure | null = null;
  const stopped = (): boolean => failure !== null || failed !== null || opts.signal?.aborted === true;
  try {
    await new Promise<void>((resolveAll) => {
      let inFlight = 0;
      const pump = (): void => {
        while (!stopped() && inFlight < window && next < runs.length) {
          const run = runs[next++]!;
          inFlight++;
          pool
            .run({ index: run.index, input: { ...run.scenario.input, seed: run.seed } })
            .then(
              (out) => {
                if ('error' in out) {
                  failed ??= out;
                  return;
                }
                byIndex.set(out.index, out);
                opts.onRun?.(byIndex.size, runs.length, out);
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
        if (inFlight === 0 && (stopped() || next >= runs.length)) resolveAll();
      };
      opts.signal?.addEventListener('abort', () => pump(), { once: true });
      pump();
    });
  } finally {
    await pool.destroy();
  }
  if (failure !== null) throw failure;
  const outputs = runs.map((r) => byIndex.get(r.index)).filter((o): o is RunOutput => o !== undefined);
  return { outputs, interrupted: outputs.length < runs.length, failed };
}
