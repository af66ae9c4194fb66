// A planted slowdown, for testing that `compare` catches one (docs/bench.md, "Wall time on any
// machine"): with MIGBENCH_TEST_PLANTED_SLOWDOWN=1.4 in the environment, each bench worker busy-waits
// after every simulation until the run has taken 1.4 times its own time. Nothing else reads it: the
// simulator, `migbench simulate` and the reference workload are untouched. A bench that runs with it says
// so on stderr and in meta.json (`planted_slowdown`, and a warning that report.html shows), so a planted
// report cannot pass for a real one.

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

/** Busy-wait until `ms` milliseconds have passed since `t0` (performance.now()). */
export function spinUntil(t0: number, ms: number): void {
  while (performance.now() - t0 < ms) {
    // busy: the point is to use the CPU as slower code would
  }
}
