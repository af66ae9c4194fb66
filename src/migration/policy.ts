// Pre-copy stop policies: after each bitmap sync, continue iterating, switch over to the blackout, or
// declare that the pre-copy is not converging (then --on-no-converge decides: force, throttle, abort).
//   hyperv  switch over when what remains fits the downtime limit; at most `maxPasses` passes
//           (WS2012 R2: 5; WS2008 R2: 10), then the blackout is forced.
//   qemu    switch over when pending <= bandwidth x downtime-limit (default 300 ms); no pass cap. QEMU
//           itself never gives up; migbench declares non-convergence when the pending set has not
//           shrunk below its best for `stallRounds` rounds (or after `maxRounds`), the point at which an
//           operator would cancel or throttle.
//   xen     last iteration after 29 iterations, when fewer than 50 pages were sent in an iteration, or
//           when 3x the VM's memory has been sent (tools/libxc/xc_domain_save.c).

import type { PolicyName } from '../result.js';
import { PAGE_SIZE } from '../units/index.js';

export interface PolicyConfig {
  name: PolicyName;
  /** hyperv: maximum pre-copy passes, counting the first full copy. */
  maxPasses: number;
  /** hyperv and qemu: the blackout may start when the rest can be sent within this time (seconds). */
  downtimeLimit: number;
  /** qemu: QEMU's auto-converge (CPU throttling when the guest dirties faster than we send). */
  autoConverge: boolean;
  /** qemu: rounds without progress before migbench declares non-convergence. */
  stallRounds: number;
  /** Safety bound for every policy: no migration iterates more than this many rounds. */
  maxRounds: number;
  /** xen constants. */
  xenMaxIters: number;
  xenMinPages: number;
  xenMaxFactor: number;
}

export const POLICY_DEFAULTS: Omit<PolicyConfig, 'name'> = {
  maxPasses: 5,
  downtimeLimit: 0.3,
  autoConverge: false,
  stallRounds: 5,
  maxRounds: 1000,
  xenMaxIters: 29,
  xenMinPages: 50,
  xenMaxFactor: 3,
};

/** QEMU's auto-converge throttle constants (migration/options.c). */
export const THROTTLE = {
  initial: 0.2,
  increment: 0.1,
  max: 0.99,
  /** Throttle when the guest dirtied more than this share of what was sent in the period. */
  triggerThreshold: 0.5,
  /** ...this many periods in a row. */
  triggerCount: 2,
  /** A period lasts at least this long (QEMU checks at most once a second). */
  minPeriod: 1,
} as const;

export type Decision = 'continue' | 'switchover' | 'not-converging';

export interface PolicyView {
  /** Pre-copy rounds completed so far (round 0, the full copy, counts). */
  rounds: number;
  /** Pages pending after the latest sync. */
  pendingPages: number;
  /** Non-zero pages among them (the ones that cost 4 KiB to send). */
  pendingFullPages: number;
  /** Pages sent in the last round. */
  lastRoundPages: number;
  /** Memory bytes per second achieved by the last round (non-zero pages x 4 KiB / duration). */
  bandwidth: number;
  /** Pages sent so far over all rounds. */
  pagesSent: number;
  memoryPages: number;
  /** Smallest pending set seen at any earlier sync, and how many syncs ago it was seen. */
  bestPending: number;
  roundsSinceBest: number;
}

export function decide(cfg: PolicyConfig, v: PolicyView): Decision {
  if (v.rounds >= cfg.maxRounds) return 'not-converging';
  switch (cfg.name) {
    case 'hyperv': {
      if (fitsDowntime(cfg, v)) return 'switchover';
      return v.rounds >= cfg.maxPasses ? 'not-converging' : 'continue';
    }
    case 'qemu': {
      if (fitsDowntime(cfg, v)) return 'switchover';
      return v.roundsSinceBest >= cfg.stallRounds ? 'not-converging' : 'continue';
    }
    case 'xen': {
      if (v.lastRoundPages < cfg.xenMinPages) return 'switchover';
      if (v.rounds >= cfg.xenMaxIters || v.pagesSent * PAGE_SIZE > cfg.xenMaxFactor * v.memoryPages * PAGE_SIZE) return 'not-converging';
      return 'continue';
    }
  }
}

function fitsDowntime(cfg: PolicyConfig, v: PolicyView): boolean {
  if (v.pendingPages === 0) return true;
  return v.pendingFullPages * PAGE_SIZE <= v.bandwidth * cfg.downtimeLimit;
}
