// The pool worker (compiled to dist/src/bench/worker.js and loaded by piscina): one task is one run.
// It keeps no state between tasks, so a result depends only on the task (the scenario and its seed).
// Wall time is measured around the simulation alone; it is the run's only non-deterministic figure.

import { performance } from 'node:perf_hooks';
import { simulate } from '../drivers/sim/index.js';
import { withVerified, type MigrationResult } from '../result.js';
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

export function runTask(task: RunTask): RunOutput {
  const scenario = resolveScenario(task.input);
  const t0 = performance.now();
  const result = withVerified(simulate(scenario));
  const wallMs = performance.now() - t0;
  return { index: task.index, result, wallMs };
}

// Warm up the simulator's code paths once per worker before the first timed run, so the first runs a
// worker gets are not charged for JIT compilation. It touches no state that a later run sees.
runTask({ index: -1, input: { memory: '256MiB', workload: 'oltp', network: '10g', transport: 'smb', seed: 0 } });

export default runTask;
