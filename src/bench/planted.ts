// A planted slowdown, for testing that `compare` catches one (docs/bench.md, "Wall time on any
// machine"): with MIGBENCH_TEST_PLANTED_SLOWDOWN=1.4 in the environment, each bench worker does 1.4 times
// the work for every run, as slower code would: it simulates the run again (its result discarded) 0.4
// times on average, the fraction spread evenly over the runs by their index. Busy work of the
// simulator's own kind, not a timed spin, so the slowdown is 1.4x in any clock and under any load (a spin
// timed by the run's wall time plants more than 1.4x of work when the machine is busy, and the thread CPU
// clock moves in scheduler ticks). Nothing else reads it: the simulator, `migbench simulate` and the
// reference workload are untouched. A bench that runs with it says so on stderr and in meta.json
// (`planted_slowdown`, and a warning that report.html shows), so a planted report cannot pass for a real
// one.

import { InputError } from '../errors.js';

export const PLANTED_SLOWDOWN_ENV = 'MIGBENCH_TEST_PLANTED_SLOWDOWN';

/** The planted factor (> 1), or null when the variable is unset or empty. */
export function plantedSlowdown(env: NodeJS.ProcessEnv = process.env): number | null {
  const text = env[PLANTED_SLOWDOWN_ENV];
  if (text === undefined || text.trim() === '') return null;
  const f = Number(text);
  if (!(f > 1 && f <= 10)) throw new InputError({ source: PLANTED_SLOWDOWN_ENV, expected: 'a test-only slowdown factor above 1 and at most 10, such as 1.4 (or unset)', got: text });
  return f;
}

/**
 * How many extra times run `index` repeats its work for a planted factor: floor(factor - 1), plus one
 * for a share frac(factor - 1) of the runs, chosen by a golden-ratio sequence of the index so that every
 * stretch of runs (the repeats of a scenario too) gets close to its share.
 */
export function extraPasses(factor: number, index: number): number {
  const extra = factor - 1;
  const whole = Math.floor(extra);
  const u = (((index + 1) * 0.6180339887498949) % 1 + 1) % 1;
  return whole + (u < extra - whole ? 1 : 0);
}
