import { describe, expect, it } from 'vitest';
import { linkInputs, predictBefore, profileScenarioInput, scorePrediction } from '../../../src/drivers/real/predict.js';
import type { RealRun } from '../../../src/drivers/real/options.js';
import { evacuationSpec } from '../../../src/evacuation/spec.js';
import { simulateEvacuation } from '../../../src/evacuation/simulate.js';
import { resolveScenario } from '../../../src/scenario.js';
import { fakeLink, fakeProfile } from '../../support/profile.js';

const input = { memory: '512MiB', workload: 'idle', seed: 1 } as const;

/** A measured run as the real driver reports it (only the fields scoring reads). */
function run(over: { total_time_s?: number; downtime_ms?: number; round0_goodput_bps?: number | null } = {}): RealRun {
  return {
    result: { mode: 'cluster', faults: null, total_time_s: over.total_time_s ?? 0.5, downtime_ms: over.downtime_ms ?? 20 },
    measured: { link_goodput_bps: 1.5e9, page_path_goodput_bps: 0.5e9, round0_goodput_bps: over.round0_goodput_bps === undefined ? 0.75e9 : over.round0_goodput_bps },
  } as unknown as RealRun;
}

describe('the simulator inputs from a calibrated link', () => {
  it("unlimited: the page path's goodput is the link rate and the stream cap, with the zero-scan rate, run cost, round trip and fixed costs", () => {
    const i = linkInputs(fakeLink());
    expect(i).toEqual({ link_rate_bps: 1e9, link_rate_from: 'page-path probe', dest_page_cost_s: null, zero_scan_bps: 9e9, run_cost_s: 2e-6, stream_cap_bps: 1e9, rtt_s: 0.001, setup_time_s: 0.01, handoff_time_s: 0.0001, resume_time_s: 0.0005, cleanup_time_s: 0.004 });
    const s = profileScenarioInput(fakeProfile(), input);
    expect(s).toMatchObject({ memory: '512MiB', workload: 'idle', linkRate: '1000000000B/s', streamCap: '1000000000B/s', zeroScanRate: '9000000000B/s', runCost: '0.000002s', rtt: '0.001s', setupTime: '0.01s', transport: 'tcp', clusterUpdateTime: '0s' });
    const sc = resolveScenario(s);
    expect(sc.timing.setupTime).toBe(0.01);
    expect(sc.network.rtt).toBe(0.001);
  });

  it('rate-limited: the link probe is the rate, no stream cap and no destination page cost', () => {
    const i = linkInputs(fakeLink({ rate_bps: 125e6, link_goodput_bps: 124e6, page_path_goodput_bps: null, run_cost_s: null, dest_page_cost_s: 2e-6 }));
    expect(i).toMatchObject({ link_rate_bps: 124e6, link_rate_from: 'link probe', stream_cap_bps: null, run_cost_s: null, dest_page_cost_s: null });
  });

  it("the destination's page cost slows the page path: 4096 B at 1 GB/s (4.096 us) plus 4.096 us is half the rate", () => {
    expect(linkInputs(fakeLink({ dest_page_cost_s: 4.096e-6 })).link_rate_bps).toBeCloseTo(0.5e9, 0);
  });

  it('a profile of several links needs the link named; an unknown one is refused', () => {
    const p = fakeProfile({ links: [{}, { channels: 2 }] });
    expect(() => profileScenarioInput(p, input)).toThrow(/exactly one calibrated link/);
    expect(() => profileScenarioInput(p, input, { channels: 1, rate: null })).toThrow(/a calibration of 1 channel\(s\) unlimited/);
    expect(profileScenarioInput(p, input, { channels: 2, rate: null }).linkRate).toBe('1000000000B/s');
  });

  it("feeds the evacuation simulator: each VM's move pays the profile's setup and clean-up", () => {
    const base = profileScenarioInput(fakeProfile({ links: [{ setup_time_s: 5, cleanup_time_s: 3 }] }), { memory: '256MiB', workload: 'idle', mode: 'cluster' });
    const r = simulateEvacuation(evacuationSpec({ vms: 2, maxLive: 1 }, base, resolveScenario(base).memoryBytes));
    expect(r.moved).toBe(2);
    // one after another, each at least its setup and clean-up
    expect(r.makespan_s).toBeGreaterThan(2 * 8);
  });
});

describe('the prediction, before the run', () => {
  it('comes from the profile alone: absurd fixed costs show in it, whatever the run does', () => {
    const p = fakeProfile({ links: [{ setup_time_s: 40, cleanup_time_s: 20, resume_time_s: 0.5 }] });
    const planned = predictBefore(input, { profile: p, link: p.links[0]!, from: 'profile', path: 'host.json' })!;
    expect(planned.inputs).toMatchObject({ from: 'profile', profile: 'host.json', profile_created_at: p.created_at, setup_time_s: 40, cleanup_time_s: 20 });
    expect(planned.sim.total_time_s).toBeGreaterThan(60.5);
    expect(planned.sim.downtime_ms).toBeGreaterThan(500);
    // the same profile and scenario, the same prediction (nothing else goes in)
    expect(predictBefore(input, { profile: p, link: p.links[0]!, from: 'profile', path: 'host.json' })!.sim).toEqual(planned.sim);
    const scored = scorePrediction(input, planned, run({ total_time_s: 0.6 }), p.links[0]!);
    expect(scored.sim).toEqual(planned.sim);
    expect(scored.ratio.total_time).toBeCloseTo(0.6 / planned.sim.total_time_s, 12);
  });

  it('a faster calibrated link predicts a shorter migration', () => {
    const slow = fakeProfile({ links: [{ page_path_goodput_bps: 0.5e9 }] });
    const fast = fakeProfile({ links: [{ page_path_goodput_bps: 2e9 }] });
    const t = (p: typeof slow) => predictBefore({ ...input, zeroFraction: '0' }, { profile: p, link: p.links[0]!, from: 'calibration', path: null })!.sim.total_time_s;
    expect(t(slow)).toBeGreaterThan(3 * t(fast));
  });

  it('is not made for a run with faults', () => {
    const p = fakeProfile();
    expect(predictBefore({ ...input, fault: ['dest-crash@precopy:0.5'] }, { profile: p, link: p.links[0]!, from: 'profile', path: null })).toBeNull();
  });

  it('scored after the run: measured / predicted, and the post-hoc diagnostics kept apart', () => {
    const p = fakeProfile();
    const planned = predictBefore(input, { profile: p, link: p.links[0]!, from: 'profile', path: null })!;
    const s = scorePrediction(input, planned, run({ total_time_s: 1, downtime_ms: 30 }), p.links[0]!);
    expect(s.ratio.total_time).toBeCloseTo(1 / planned.sim.total_time_s, 12);
    expect(s.ratio.downtime).toBeCloseTo(30 / planned.sim.downtime_ms, 12);
    expect(s.post_hoc.run_probe_over_profile).toEqual({ link_goodput: 1.25, page_path_goodput: 0.5 });
    expect(s.post_hoc.with_round0_rate!.link_rate_bps).toBe(0.75e9);
    expect(s.post_hoc.with_round0_rate!.total_time_ratio).toBeCloseTo(1 / s.post_hoc.with_round0_rate!.total_time_s, 12);
    expect(scorePrediction(input, planned, run({ round0_goodput_bps: null }), p.links[0]!).post_hoc.with_round0_rate).toBeNull();
    expect('record' in s).toBe(false);
  });
});
