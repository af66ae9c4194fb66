// The pool worker (compiled to dist/src/bench/worker.js and loaded by piscina): one task is one run, one
// evacuation (a whole drain of many VMs, evacuation/simulate.ts), or one sample of the reference workload
// (reference.ts). It keeps no state between tasks, so a result
// depends only on the task (the scenario and its seed). Wall time is measured around the simulation
// alone; it is the run's only non-deterministic figure.

import { performance } from 'node:perf_hooks';
import { simulate } from '../drivers/sim/index.js';
import { MigbenchError } from '../errors.js';
import { simulateEvacuation } from '../evacuation/simulate.js';
import { evacuationSpec, type EvacuationInput } from '../evacuation/spec.js';
import type { EvacuationResult } from '../evacuation/types.js';
import type { MigrationResult } from '../result.js';
import { resolveScenario, type ScenarioInput } from '../scenario.js';
import { threadCpuMs } from './cputime.js';
import { extraPasses, plantedSlowdown } from './planted.js';
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

/** One evacuation run: the scenario every VM shares (its seed the run's) and the evacuation's options. */
export interface EvacuationTask {
  kind: 'evacuation';
  index: number;
  input: ScenarioInput;
  evacuation: EvacuationInput;
}

export type Task = RunTask | EvacuationTask | ReferenceTask;

export interface RunOutput {
  kind?: undefined;
  index: number;
  result: MigrationResult;
  /** Wall-clock time of the simulation in this worker, milliseconds. */
  wallMs: number;
  /** CPU time of this worker thread during the simulation, milliseconds (null where the system does not say). */
  cpuMs: number | null;
}

export interface ReferenceOutput {
  kind: 'reference';
  index: number;
  wallMs: number;
  cpuMs: number | null;
  checksum: number;
}

export interface EvacuationOutput {
  kind: 'evacuation';
  index: number;
  result: EvacuationResult;
  /** Wall-clock time of the whole evacuation's simulation in this worker, milliseconds. */
  wallMs: number;
  cpuMs: number | null;
}

/** A run (or evacuation) that failed: its error as plain data (an Error's class does not survive the thread boundary). */
export interface RunFailure {
  kind?: 'evacuation';
  index: number;
  error: { code: string; message: string };
}

export type TaskOutput = RunOutput | EvacuationOutput | ReferenceOutput | RunFailure;

const failure = (index: number, err: unknown, kind?: 'evacuation'): RunFailure => ({
  ...(kind ? { kind } : {}),
  index,
  error: { code: err instanceof MigbenchError ? err.code : 'E_INTERNAL', message: err instanceof Error ? err.message : String(err) },
});

function runEvacuation(task: EvacuationTask): EvacuationOutput | RunFailure {
  try {
    const spec = evacuationSpec(task.evacuation, task.input, resolveScenario(task.input).memoryBytes);
    const c0 = threadCpuMs();
    const t0 = performance.now();
    const result = simulateEvacuation(spec);
    const wallMs = performance.now() - t0;
    const c1 = threadCpuMs();
    return { kind: 'evacuation', index: task.index, result, wallMs, cpuMs: c0 === null || c1 === null ? null : c1 - c0 };
  } catch (err) {
    return failure(task.index, err, 'evacuation');
  }
}

// Test-only (planted.ts); validated by the bench command before the pool starts.
const planted = plantedSlowdown();

export function runTask(task: Task): TaskOutput {
  if (task.kind === 'reference') {
    const c0 = threadCpuMs();
    const t0 = performance.now();
    const checksum = referenceWorkload();
    const wallMs = performance.now() - t0;
    const c1 = threadCpuMs();
    return { kind: 'reference', index: task.index, wallMs, cpuMs: c0 === null || c1 === null ? null : c1 - c0, checksum };
  }
  if (task.kind === 'evacuation') return runEvacuation(task);
  try {
    const scenario = resolveScenario(task.input);
    const c0 = threadCpuMs();
    const t0 = performance.now();
    const result = simulate(scenario);
    // Test only: `planted` times the work, as slower code would do (planted.ts).
    if (planted !== null) for (let i = extraPasses(planted, task.index); i > 0; i--) simulate(scenario);
    const wallMs = performance.now() - t0;
    const c1 = threadCpuMs();
    return { index: task.index, result, wallMs, cpuMs: c0 === null || c1 === null ? null : c1 - c0 };
  } catch (err) {
    return failure(task.index, err);
  }
}

// Warm up the simulator's code paths and the reference workload once per worker before the first timed
// task, so the first tasks a worker gets are not charged for JIT compilation. It touches no state that a
// later task sees.
const warm = runTask({ index: -1, input: { memory: '256MiB', workload: 'oltp', network: '10g', transport: 'smb', seed: 0 } });
if ('error' in warm) throw new Error(`bench worker warm-up failed: ${warm.error.message}`);
const warmEvacuation = runTask({ kind: 'evacuation', index: -1, input: { memory: '256MiB', workload: 'oltp', network: '10g', transport: 'tcp', seed: 0 }, evacuation: { vms: 2, maxLive: 2 } });
if ('error' in warmEvacuation) throw new Error(`bench worker warm-up failed: ${warmEvacuation.error.message}`);
runTask({ kind: 'reference', index: -1 });

export default runTask;
