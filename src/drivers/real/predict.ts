// The simulator's prediction of a real run, made BEFORE the migration from a calibration profile of the
// host pair (profile.ts; `migbench calibrate`, or the quick calibration `migrate` makes first), never
// from a figure of the run it predicts. The same scenario is simulated over one link of the page path's
// goodput (`--link-rate`; unlimited, also the stream's cap; no compression model), with the calibrated
// zero-page read rate, cost of a scattered page, control round trip and fixed costs (setup, handoff,
// resume, clean-up) instead of the Hyper-V defaults. What is *predicted* is everything else: the rounds,
// the blackout, the downtime and the total time. After the run, ratios are measured / predicted; figures
// of the run itself (round 0's goodput, its own probes) appear only as a labelled post-hoc diagnostic.

import { simulate } from '../sim/index.js';
import { InputError } from '../../errors.js';
import { resolveScenario, type ScenarioInput } from '../../scenario.js';
import type { MigrationResult } from '../../result.js';
import { PAGE_SIZE } from '../../units/index.js';
import type { RealRun } from './options.js';
import { linkLabel, profileLink, type LinkSpec, type Profile, type ProfileLink } from './profile.js';

/** The simulator's inputs taken from a calibrated link. */
export interface LinkInputs {
  link_rate_bps: number;
  link_rate_from: 'page-path probe' | 'link probe';
  /** Seconds per page the destination adds beyond the probe's page path (first-touch faults), in link_rate_bps; null: none known. */
  dest_page_cost_s: number | null;
  zero_scan_bps: number | null;
  run_cost_s: number | null;
  stream_cap_bps: number | null;
  rtt_s: number;
  setup_time_s: number;
  handoff_time_s: number;
  resume_time_s: number;
  cleanup_time_s: number;
}

export interface PredictionInputs extends LinkInputs {
  /** `profile`: a profile file (`profile` is its path); `calibration`: calibrated just before this run. */
  from: 'profile' | 'calibration';
  profile: string | null;
  profile_created_at: string;
}

export interface PredictedFigures {
  total_time_s: number;
  downtime_ms: number;
  precopy_rounds: number;
  memory_bytes_sent: number;
  converged: boolean;
  storage_copy_time_s: number;
}

/** The prediction, before the migration. */
export interface PlannedPrediction {
  inputs: PredictionInputs;
  sim: PredictedFigures;
  record: MigrationResult & { verified: boolean | null };
  notes: string[];
  /** How the profile differs from the run (calibrate again if they matter). */
  warnings: string[];
}

/** The prediction beside the run it predicted. */
export interface Prediction extends Omit<PlannedPrediction, 'record'> {
  /** measured / predicted */
  ratio: { total_time: number; downtime: number | null };
  /**
   * Diagnostics from the run itself, after it: NOT the prediction, nothing of them fed it. The same
   * simulation at round 0's own measured memory goodput (null when not measured), and this run's own
   * probes over the profile's (how far the path drifted since the calibration).
   */
  post_hoc: {
    with_round0_rate: { link_rate_bps: number; total_time_s: number; downtime_ms: number; total_time_ratio: number } | null;
    run_probe_over_profile: { link_goodput: number | null; page_path_goodput: number | null };
  };
}

/** The simulator's inputs from one calibrated link of a profile. */
export function linkInputs(l: ProfileLink): LinkInputs {
  const fromPages = l.page_path_goodput_bps !== null;
  const probed = fromPages ? l.page_path_goodput_bps! : l.link_goodput_bps;
  // The destination's cost per page (first-touch faults where its memory is not reserved), which the
  // probe's pre-touched ring does not pay, lowers the page path's rate; the wire of a rate-limited link
  // hides it (there the link probe's goodput is the rate).
  const destCost = fromPages ? l.dest_page_cost_s : null;
  const rate = destCost ? PAGE_SIZE / (PAGE_SIZE / probed + destCost) : probed;
  return {
    link_rate_bps: rate,
    link_rate_from: fromPages ? 'page-path probe' : 'link probe',
    dest_page_cost_s: destCost,
    zero_scan_bps: l.zero_scan_bps,
    run_cost_s: l.run_cost_s,
    // Unlimited, the page path's rate is what the sending thread can do (the CPU, not a wire, limits it):
    // the zero-page reads of round 0 then add to the time rather than hide behind the wire.
    stream_cap_bps: fromPages && l.rate_bps === null ? rate : null,
    rtt_s: l.control_rtt_s,
    setup_time_s: l.setup_time_s,
    handoff_time_s: l.handoff_time_s,
    resume_time_s: l.resume_time_s,
    cleanup_time_s: l.cleanup_time_s,
  };
}

/** Scenario options from a calibrated link's inputs, over `base` (its memory, workload, policy, seed...). */
export function linkScenarioInput(i: LinkInputs, base: ScenarioInput): ScenarioInput {
  return {
    ...base,
    linkRate: `${i.link_rate_bps}B/s`,
    zeroScanRate: i.zero_scan_bps !== null ? `${i.zero_scan_bps}B/s` : undefined,
    streamCap: i.stream_cap_bps !== null ? `${i.stream_cap_bps}B/s` : undefined,
    runCost: i.run_cost_s !== null ? `${i.run_cost_s}s` : undefined,
    transport: 'tcp',
    rtt: `${i.rtt_s}s`,
    setupTime: `${i.setup_time_s}s`,
    handoffTime: `${i.handoff_time_s}s`,
    resumeTime: `${i.resume_time_s}s`,
    cleanupTime: `${i.cleanup_time_s}s`,
    clusterUpdateTime: '0s',
  };
}

/**
 * The scenario options that turn a profile into the simulator's link and costs for a VM described by
 * `base` (for `simulate`, or per VM of an evacuation: `evacuationSpec(o, profileScenarioInput(p, base),
 * memory)`): link rate, stream cap, zero-page read rate, run cost, round trip, setup, handoff, resume and
 * clean-up times. `link` picks the calibrated link (channels, rate limit); without it the profile must
 * hold exactly one. The profile's link is one source host's path: several VMs moving at once share it.
 */
export function profileScenarioInput(p: Profile, base: ScenarioInput, link?: LinkSpec, source = 'the profile'): ScenarioInput {
  const l = link ? profileLink(p, link) : p.links.length === 1 ? p.links[0]! : null;
  if (!l) {
    const have = p.links.map((x) => `${x.channels} channel(s) ${linkLabel(x)}`).join('; ');
    throw new InputError({ source, path: 'links', expected: link ? `a calibration of ${link.channels} channel(s) ${linkLabel(link)}` : 'exactly one calibrated link, or a link named by channels and rate', got: have });
  }
  return linkScenarioInput(linkInputs(l), base);
}

/**
 * Predict a run of `input` over the calibrated `link`, before it starts (null for a run with faults: a
 * fault lands at a different moment in each engine).
 */
export function predictBefore(input: ScenarioInput, p: { profile: Profile; link: ProfileLink; from: 'profile' | 'calibration'; path: string | null; warnings?: string[] }): PlannedPrediction | null {
  if (input.fault !== undefined && (!Array.isArray(input.fault) || input.fault.length > 0)) return null;
  const li = linkInputs(p.link);
  const record = simulate(resolveScenario(linkScenarioInput(li, input)));
  const notes: string[] = [];
  if (record.mode === 'shared-nothing') notes.push("the storage copy is predicted with the simulator's storage model (--source-storage/--dest-storage), not calibrated: the real engine's page-cache-backed files differ");
  if (li.dest_page_cost_s) notes.push(`the destination's memory costs ${(li.dest_page_cost_s * 1e6).toFixed(2)} us a page beyond the page-path probe (calibrated: first-touch faults where it is not reserved); in the link rate`);
  return {
    inputs: { from: p.from, profile: p.path, profile_created_at: p.profile.created_at, ...li },
    sim: {
      total_time_s: record.total_time_s,
      downtime_ms: record.downtime_ms,
      precopy_rounds: record.precopy_rounds,
      memory_bytes_sent: record.memory_bytes_sent,
      converged: record.converged,
      storage_copy_time_s: record.storage_copy_time_s,
    },
    record,
    notes,
    warnings: p.warnings ?? [],
  };
}

/** The prediction made before `run`, beside it: ratios, and the post-hoc diagnostics. */
export function scorePrediction(input: ScenarioInput, planned: PlannedPrediction, run: RealRun, link: ProfileLink): Prediction {
  const r = run.result;
  const ms = run.measured;
  let r0: Prediction['post_hoc']['with_round0_rate'] = null;
  const rate0 = ms.round0_goodput_bps;
  if (rate0 !== null && rate0 > 0) {
    // Round 0's goodput already includes its zero-page reads and the destination's page costs: none are added again.
    const base = linkScenarioInput({ ...planned.inputs, link_rate_bps: rate0, zero_scan_bps: null, stream_cap_bps: null }, input);
    const sim0 = simulate(resolveScenario(base));
    r0 = { link_rate_bps: rate0, total_time_s: sim0.total_time_s, downtime_ms: sim0.downtime_ms, total_time_ratio: r.total_time_s / sim0.total_time_s };
  }
  const over = (a: number | null, b: number | null) => (a !== null && b !== null && b > 0 ? a / b : null);
  const { record: _record, ...rest } = planned;
  return {
    ...rest,
    ratio: {
      total_time: r.total_time_s / planned.sim.total_time_s,
      downtime: planned.sim.downtime_ms > 0 ? r.downtime_ms / planned.sim.downtime_ms : null,
    },
    post_hoc: {
      with_round0_rate: r0,
      run_probe_over_profile: { link_goodput: over(ms.link_goodput_bps, link.link_goodput_bps), page_path_goodput: over(ms.page_path_goodput_bps, link.page_path_goodput_bps) },
    },
  };
}
