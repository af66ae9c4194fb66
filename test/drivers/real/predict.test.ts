import { describe, expect, it } from 'vitest';
import { predict, predictionInput } from '../../../src/drivers/real/predict.js';
import type { RealRun } from '../../../src/drivers/real/options.js';

/** A measured run as the real driver reports it (only the fields the prediction reads). */
function run(over: { rate_bps?: number | null; page_path_goodput_bps?: number | null; zero_scan_bps?: number | null; run_cost_s?: number | null } = {}): RealRun {
  return {
    result: { mode: 'cluster', faults: null, handoff_ms: 2, total_time_s: 0.5, downtime_ms: 20 },
    measured: {
      rate_bps: null,
      link_goodput_bps: 1.2e9,
      page_path_goodput_bps: 0.7e9,
      zero_scan_bps: 9e9,
      run_cost_s: 4e-6,
      control_rtt_s: 0.001,
      round0_goodput_bps: 0.75e9,
      phases: { config_s: 0.03, storage_copy_s: 0, precopy_s: 0.4, blackout_s: 0.02, handoff_s: 0.005, cleanup_s: 0.02 },
      ...over,
    },
  } as unknown as RealRun;
}

const input = { memory: '512MiB', workload: 'idle', seed: 1 } as const;

describe('the prediction beside a real run', () => {
  it("takes the page path's goodput as the link rate, with the probed zero-scan rate; unlimited, the page path is the stream cap", () => {
    const p = predictionInput(input, run())!;
    expect(p.inputs.link_rate_from).toBe('page-path probe');
    expect(p.inputs.link_rate_bps).toBe(0.7e9);
    expect(p.input.linkRate).toBe('700000000B/s');
    expect(p.input.zeroScanRate).toBe('9000000000B/s');
    expect(p.inputs.stream_cap_bps).toBe(0.7e9);
    expect(p.input.streamCap).toBe('700000000B/s');
    expect(p.input.transport).toBe('tcp');
    expect(p.inputs.run_cost_s).toBe(4e-6);
    expect(p.input.runCost).toBe('0.000004s');
  });

  it('over a rate-limited link the wire, not the thread, is the limit: no stream cap', () => {
    const p = predictionInput(input, run({ rate_bps: 125e6, page_path_goodput_bps: 124e6 }))!;
    expect(p.inputs.stream_cap_bps).toBeNull();
    expect(p.input.streamCap).toBeUndefined();
    expect(p.inputs.link_rate_bps).toBe(124e6);
  });

  it('falls back to the link probe without a page-path probe', () => {
    const p = predictionInput(input, run({ page_path_goodput_bps: null, zero_scan_bps: null, run_cost_s: null }))!;
    expect(p.inputs.link_rate_from).toBe('link probe');
    expect(p.inputs.link_rate_bps).toBe(1.2e9);
    expect(p.input.zeroScanRate).toBeUndefined();
    expect(p.input.streamCap).toBeUndefined();
    expect(p.input.runCost).toBeUndefined();
  });

  it('an idle guest that skips zero pages is predicted slower with the zero-page reads than without them', () => {
    const skipping = { ...input, zeroPages: 'skip' } as const;
    const withScan = predict(skipping, run({ run_cost_s: null }))!;
    const without = predict(skipping, run({ zero_scan_bps: null, run_cost_s: null }))!;
    // 512 MiB idle: most pages are zero; reading them at 9 GB/s adds their time to the CPU-bound stream
    const zeroBytes = withScan.record.zero_pages * 4096;
    expect(withScan.prediction.sim.total_time_s - without.prediction.sim.total_time_s).toBeCloseTo(zeroBytes / 9e9, 3);
    expect(withScan.prediction.ratio.total_time).toBeCloseTo(0.5 / withScan.prediction.sim.total_time_s, 9);
  });
});
