// The pool worker (compiled to dist/src/bench/worker.js and loaded by piscina): one task is one run, or
// one sample of the reference workload (reference.ts). It keeps no state between tasks, so a result
// depends only on the task (the scenario and its seed). Wall time is measured around the simulation
// alone; it is the run's only non-deterministic figure.

import { performance } from 'node:perf_hooks';
import { simulate } from '../drivers/sim/index.js';
import { MigbenchError } from '../errors.js';
import type { MigrationResult } from '../result.js';
import { resolveScenario, type ScenarioInput } from '../scenario.js';
import { plantedSlowdown, spinUntil } from './planted.js';
import { referenceWorkload } from './reference.js';

export interface RunTask {
  kind?: 'run';
  index: number;
  input: ScenarioInput;
}

/** One timed pass of the reference workload. Its index is negative (runs have indexes >= 0). */
export interface ReferenceTask {
  kind: 'reference';
  index: number;
}

export type Task = RunTask | ReferenceTask;

export interface RunOutput {
  index: number;
  result: MigrationResult;
  /** Wall-clock time of the simulation in this worker, milliseconds. */
  wallMs: number;
}

export interface ReferenceOutput {
  kind: 'reference';
  index: number;
  wallMs: number;
  checksum: number;
}

/** A run that failed: its error as plain data (an Error's class does not survive the thread boundary). */
export interface RunFailure {
  index: number;
  error: { code: string; message: string };
}

export type TaskOutput = RunOutput | ReferenceOutput | RunFailure;

// Test-only (planted.ts); validated by the bench command before the pool starts.
const planted = plantedSlowdown();

export function runTask(task: Task): TaskOutput {
  if (task.kind === 'reference') {
    const t0 = performance.now();
    const checksum = referenceWorkload();
    return { kind: 'reference', index: task.index, wallMs: performance.now() - t0, checksum };
  }
  try {
    const scenario = resolveScenario(task.input);
    const t0 = performance.now();
    const result = simulate(scenario);
    if (planted !== null) spinUntil(t0, (performance.now() - t0) * planted);
    const wallMs = performance.now() - t0;
    return { index: task.index, result, wallMs };
  } catch (err) {
    const code = err instanceof MigbenchError ? err.code : 'E_INTERNAL';
    return { index: task.index, error: { code, message: err instanceof Error ? err.message : String(err) } };
  }
}

// Warm up the simulator's code paths and the reference workload once per worker before the first timed
// task, so the first tasks a worker gets are not charged for JIT compilation. It touches no state that a
// later task sees.
const warm = runTask({ index: -1, input: { memory: '256MiB', workload: 'oltp', network: '10g', transport: 'smb', seed: 0 } });
if ('error' in warm) throw new Error(`bench worker warm-up failed: ${warm.error.message}`);
runTask({ kind: 'reference', index: -1 });

export default runTask;
