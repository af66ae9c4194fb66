// The simulator's prediction of a real evacuation, made before the first guest moves, from a calibration
// profile of the host pair (never from a figure of the drain it predicts): the same VMs, order and limits
// simulated by `simulateEvacuation` over one link of the calibrated rate that every move shares (each
// move its own stream, capped, unlimited, at the page path's rate: the CPU of one sending thread), with
// the calibrated zero-page read rate, cost of a scattered page, round trip and fixed costs. After the
// drain, the ratios are measured / predicted.

import { linkInputs, linkScenarioInput, type LinkInputs } from '../drivers/real/predict.js';
import type { Profile, ProfileLink } from '../drivers/real/profile.js';
import { simulateEvacuation } from './simulate.js';
import type { EvacuationResult, EvacuationSpec } from './types.js';

export interface PredictedVm {
  name: string;
  start_s: number;
  end_s: number;
  total_time_s: number;
  downtime_ms: number;
}

export interface EvacuationPrediction {
  /** `profile`: a profile file (`profile` is its path); `calibration`: calibrated just before the drain. */
  from: 'profile' | 'calibration';
  profile: string | null;
  profile_created_at: string;
  inputs: LinkInputs;
  makespan_s: number;
  vms: PredictedVm[];
  notes: string[];
  /** How the profile differs from this drain's target (calibrate again if they matter). */
  warnings: string[];
}

export interface EvacuationScore {
  /** measured / predicted */
  makespan: number;
  vms: { name: string; total_time: number; end: number }[];
}

export function predictEvacuation(spec: EvacuationSpec, p: { profile: Profile; link: ProfileLink; from: 'profile' | 'calibration'; path: string | null; warnings?: string[] }): EvacuationPrediction {
  const inputs = linkInputs(p.link);
  const sim = simulateEvacuation({ ...spec, base: linkScenarioInput(inputs, spec.base) });
  const notes = ['every move shares one link of the calibrated rate (the page path over the real link: the wire, or on loopback the CPU of the one process that sends every move)'];
  if (sim.vms.some((v) => v.mode === 'shared-nothing')) notes.push("storage copies are predicted with the simulator's storage model, not calibrated");
  return {
    from: p.from,
    profile: p.path,
    profile_created_at: p.profile.created_at,
    inputs,
    makespan_s: sim.makespan_s,
    vms: sim.vms.map((v) => ({ name: v.name, start_s: v.start_s, end_s: v.end_s, total_time_s: v.total_time_s, downtime_ms: v.downtime_ms })),
    notes,
    warnings: p.warnings ?? [],
  };
}

/** The drain beside its prediction: measured / predicted, for the makespan and each VM. */
export function scoreEvacuation(pred: EvacuationPrediction, r: EvacuationResult): EvacuationScore {
  const byName = new Map(pred.vms.map((v) => [v.name, v]));
  return {
    makespan: r.makespan_s / pred.makespan_s,
    vms: r.vms.flatMap((v) => {
      const p = byName.get(v.name);
      return p ? [{ name: v.name, total_time: v.total_time_s / p.total_time_s, end: p.end_s > 0 ? v.end_s / p.end_s : NaN }] : [];
    }),
  };
}
