// The simulator beside a real run: the same scenario simulated over one link of the goodput the real
// engine's page path reached in its probe before the migration (`--link-rate`; unlimited, also the
// stream's cap; no compression model), with the zero-page read rate it probed (`--zero-scan-rate`) and
// the round trip and fixed costs it measured during the migration (setup, handoff, resume, clean-up)
// instead of the Hyper-V defaults. What is then *predicted* is everything else: the pre-copy rounds and their
// durations, the blackout, the downtime and the total time. Ratios are measured / predicted.

import { simulate } from '../sim/index.js';
import { resolveScenario, type ScenarioInput } from '../../scenario.js';
import type { MigrationResult } from '../../result.js';
import type { RealRun } from './options.js';

export interface Prediction {
  /** Inputs taken from the real run's measurements. */
  inputs: { link_rate_bps: number; link_rate_from: 'page-path probe' | 'link probe'; zero_scan_bps: number | null; run_cost_s: number | null; stream_cap_bps: number | null; rtt_s: number; setup_time_s: number; handoff_time_s: number; resume_time_s: number; cleanup_time_s: number };
  sim: { total_time_s: number; downtime_ms: number; precopy_rounds: number; memory_bytes_sent: number; converged: boolean; storage_copy_time_s: number };
  /** measured / predicted */
  ratio: { total_time: number; downtime: number | null };
  /**
   * Diagnostic, not a prediction: the same simulation with round 0's own measured memory goodput as the
   * link rate (what the migration's data path achieved, page copies, zero-page reads and destination page
   * faults included; so no zero-scan rate or stream cap). Its ratio tells the model's error apart from the probe's link rate being the wrong input.
   */
  with_round0_rate: { link_rate_bps: number; total_time_s: number; downtime_ms: number; total_time_ratio: number } | null;
  notes: string[];
}

/** Scenario options of the prediction (null when the run measured no link goodput). */
export function predictionInput(input: ScenarioInput, run: RealRun): { input: ScenarioInput; inputs: Prediction['inputs'] } | null {
  const ms = run.measured;
  const r = run.result;
  if (ms.link_goodput_bps === null || ms.control_rtt_s === null) return null;
  const rtt = ms.control_rtt_s;
  // The page path's goodput when it was probed: on a fast link the CPU sets the pace of the rounds, and
  // the plain link probe (one buffer sent again and again) over-states what pages can cross.
  const fromPages = ms.page_path_goodput_bps !== null && ms.page_path_goodput_bps > 0;
  const rate = fromPages ? ms.page_path_goodput_bps! : ms.link_goodput_bps;
  const configBytes = resolveScenario(input).timing.configBytes;
  const handoff = r.handoff_ms / 1000;
  const inputs = {
    link_rate_bps: rate,
    link_rate_from: fromPages ? ('page-path probe' as const) : ('link probe' as const),
    zero_scan_bps: ms.zero_scan_bps,
    run_cost_s: ms.run_cost_s,
    // Unlimited, the page path's rate is what the sending thread can do (the CPU, not a wire, limits it):
    // the zero-page reads of round 0 then add to the time rather than hide behind the wire.
    stream_cap_bps: fromPages && ms.rate_bps === null ? rate : null,
    rtt_s: rtt,
    setup_time_s: Math.max(0, ms.phases.config_s - rtt - configBytes / rate),
    handoff_time_s: Math.max(0, handoff - rtt),
    resume_time_s: Math.max(0, ms.phases.handoff_s - handoff - rtt),
    cleanup_time_s: Math.max(0, ms.phases.cleanup_s - rtt),
  };
  const { fault: _faults, ...rest } = input;
  return {
    inputs,
    input: {
      ...rest,
      linkRate: `${rate}B/s`,
      ...(ms.zero_scan_bps !== null && ms.zero_scan_bps > 0 ? { zeroScanRate: `${ms.zero_scan_bps}B/s` } : {}),
      ...(inputs.stream_cap_bps !== null ? { streamCap: `${inputs.stream_cap_bps}B/s` } : {}),
      ...(ms.run_cost_s !== null ? { runCost: `${ms.run_cost_s}s` } : {}),
      transport: 'tcp',
      rtt: `${rtt}s`,
      setupTime: `${inputs.setup_time_s}s`,
      handoffTime: `${inputs.handoff_time_s}s`,
      resumeTime: `${inputs.resume_time_s}s`,
      cleanupTime: `${inputs.cleanup_time_s}s`,
      clusterUpdateTime: '0s',
    },
  };
}

/** The prediction for a run, with the simulator's full record (null for a run with faults or no probe). */
export function predict(input: ScenarioInput, run: RealRun): { prediction: Prediction; record: MigrationResult & { verified: boolean | null } } | null {
  // A fault lands at a different moment in each engine (progress here, a fault-free replay there).
  if (run.result.faults !== null) return null;
  const p = predictionInput(input, run);
  if (!p) return null;
  const sim = simulate(resolveScenario(p.input));
  const r = run.result;
  const notes: string[] = [];
  if (r.mode === 'shared-nothing') notes.push("the storage copy is predicted with the simulator's storage model (--source-storage/--dest-storage), not the real engine's page-cache-backed files");
  let r0: Prediction['with_round0_rate'] = null;
  const rate0 = run.measured.round0_goodput_bps;
  if (rate0 !== null && rate0 > 0) {
    // Round 0's goodput already includes its zero-page reads: none are added again.
    const sim0 = simulate(resolveScenario({ ...p.input, linkRate: `${rate0}B/s`, zeroScanRate: undefined, streamCap: undefined }));
    r0 = { link_rate_bps: rate0, total_time_s: sim0.total_time_s, downtime_ms: sim0.downtime_ms, total_time_ratio: r.total_time_s / sim0.total_time_s };
  }
  const prediction: Prediction = {
    inputs: p.inputs,
    sim: {
      total_time_s: sim.total_time_s,
      downtime_ms: sim.downtime_ms,
      precopy_rounds: sim.precopy_rounds,
      memory_bytes_sent: sim.memory_bytes_sent,
      converged: sim.converged,
      storage_copy_time_s: sim.storage_copy_time_s,
    },
    ratio: {
      total_time: r.total_time_s / sim.total_time_s,
      downtime: sim.downtime_ms > 0 ? r.downtime_ms / sim.downtime_ms : null,
    },
    with_round0_rate: r0,
    notes,
  };
  return { prediction, record: sim };
}
