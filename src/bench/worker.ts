// The pool worker (compiled to dist/src/bench/worker.js and loaded by piscina): one task is one run.
// It keeps no state between tasks, so a result depends only on the task (the scenario and its seed).
// Wall time is measured around the simulation alone; it is the run's only non-deterministic figure.

import { performance } from 'node:perf_hooks';
import { simulate } from '../drivers/sim/index.js';
import { MigbenchError } from '../errors.js';
import type { MigrationResult } from '../result.js';
import { resolveScenario, type ScenarioInput } from '../scenario.js';

export interface RunTask {
  index: number;
  input: ScenarioInput;
}

export interface RunOutput {
  index: number;
  result: MigrationResult;
  /** Wall-clock time of the simulation in this worker, milliseconds. */
  wallMs: number;
}

/** A run that failed: its error as plain data (an Error's class does not survive the thread boundary). */
export interface RunFailure {
  index: number;
  error: { code: string; message: string };
}

export function runTask(task: RunTask): RunOutput | RunFailure {
  try {
    const scenario = resolveScenario(task.input);
    const t0 = performance.now();
    const result = simulate(scenario);
    const wallMs = performance.now() - t0;
    return { index: task.index, result, wallMs };
  } catch (err) {
    const code = err instanceof MigbenchError ? err.code : 'E_INTERNAL';
    return { index: task.index, error: { code, message: err instanceof Error ? err.message : String(err) } };
  }
}

// Warm up the simulator's code paths once per worker before the first timed run, so the first runs a
// worker gets are not charged for JIT compilation. It touches no state that a later run sees.
const warm = runTask({ index: -1, input: { memory: '256MiB', workload: 'oltp', network: '10g', transport: 'smb', seed: 0 } });
if ('error' in warm) throw new Error(`bench worker warm-up failed: ${warm.error.message}`);

export default runTask;
