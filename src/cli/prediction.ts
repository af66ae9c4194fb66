// `migrate`'s prediction, made before anything moves: from `--profile FILE` (checked against the run:
// another destination or an uncalibrated link is refused, lesser differences are warned about), or from
// a quick calibration it makes first (probes and one tiny migration to the same destination; its time is
// not the migration's). Nothing of the run it predicts goes into it.

import { hostname } from 'node:os';
import { calibrate } from '../drivers/real/calibrate.js';
import { predictBefore, type PlannedPrediction } from '../drivers/real/predict.js';
import { loadProfile, matchProfile, type Profile, type ProfileLink } from '../drivers/real/profile.js';
import type { ScenarioInput } from '../scenario.js';
import { formatBytes, formatDuration } from '../units/index.js';
import { runTarget, type Target } from './real-target.js';

export interface Planned {
  planned: PlannedPrediction;
  profile: Profile;
  link: ProfileLink;
}

export interface PlanOptions {
  input: ScenarioInput;
  /** The run has faults: no prediction (a fault lands at a different moment in each engine). */
  faults: boolean;
  profile?: string;
  target: Target;
  channels: number;
  rate: number | null;
  /** Probe bytes of a quick calibration (under 1 MiB: none, and no prediction). */
  probeBytes: number;
  signal: AbortSignal;
  log: (line: string) => void;
  warn: (line: string) => void;
}

/** The prediction before the run, or null (with the reason logged). */
export async function planPrediction(o: PlanOptions): Promise<Planned | null> {
  const run = runTarget(o.target, o.channels, o.rate);
  let profile: Profile;
  let link: ProfileLink;
  let warnings: string[] = [];
  if (o.profile !== undefined) {
    profile = loadProfile(o.profile);
    ({ link, warnings } = matchProfile(profile, run, o.profile, hostname()));
  }
  if (o.faults) {
    o.log('no prediction for a run with --fault (a fault lands at a different moment in each engine)');
    return null;
  }
  if (o.profile === undefined) {
    if (o.probeBytes < 2 ** 20) {
      o.log('no prediction: --probe 0 and no --profile (nothing to calibrate with)');
      return null;
    }
    const t = performance.now();
    o.log(`calibrating first (not part of the migration): probes of ${formatBytes(o.probeBytes)} and one tiny migration to the same destination`);
    profile = await calibrate({ links: [{ channels: o.channels, rate: o.rate }], ...o.target, probeBytes: o.probeBytes, migrations: 1, signal: o.signal, log: o.log });
    link = profile.links[0]!;
    o.log(`calibrated in ${formatDuration((performance.now() - t) / 1000)}`);
  }
  for (const w of warnings) o.warn(`--profile ${o.profile}: ${w}`);
  const planned = predictBefore(o.input, { profile: profile!, link: link!, from: o.profile !== undefined ? 'profile' : 'calibration', path: o.profile ?? null, warnings });
  if (!planned) return null;
  o.log(`predicted before moving (from ${o.profile !== undefined ? `profile ${o.profile}` : 'the calibration'}): total ${formatDuration(planned.sim.total_time_s)}, downtime ${formatDuration(planned.sim.downtime_ms / 1000)}, ${planned.sim.precopy_rounds} round(s)`);
  return { planned, profile: profile!, link: link! };
}
