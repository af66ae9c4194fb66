// A calibration profile made by hand (not measured): tests that need figures they chose, so that what the
// prediction did with them can be checked exactly.
import { hostname } from 'node:os';
import type { Profile, ProfileLink } from '../../src/drivers/real/profile.js';

export function fakeLink(over: Partial<ProfileLink> = {}): ProfileLink {
  return {
    channels: 4,
    rate_bps: null,
    probe_bytes: 256 * 2 ** 20,
    link_goodput_bps: 1.2e9,
    page_path_goodput_bps: 1e9,
    zero_scan_bps: 9e9,
    run_cost_s: 2e-6,
    control_rtt_s: 0.001,
    memory_path_goodput_bps: 0.9e9,
    dest_page_cost_s: null,
    setup_time_s: 0.01,
    handoff_time_s: 0.0001,
    resume_time_s: 0.0005,
    cleanup_time_s: 0.004,
    migrations: [
      { vm: 'vm-0123456789abcdef', memory_bytes: 64 * 2 ** 20, total_time_s: 0.09, downtime_ms: 4, config_s: 0.011, precopy_s: 0.07, blackout_s: 0.002, handoff_s: 0.0011, resume_s: 0.0015, cleanup_s: 0.005, control_rtt_s: 0.001, round0_goodput_bps: 0.9e9, dest_prepare_s: 0.0015, link_goodput_bps: 1.2e9, page_path_goodput_bps: 1e9, zero_scan_bps: 9e9, run_cost_s: 2e-6 },
    ],
    ...over,
  };
}

export function fakeProfile(o: { links?: Partial<ProfileLink>[]; target?: Partial<Profile['target']> } = {}): Profile {
  return {
    kind: 'migbench-calibration',
    version: 1,
    created_at: '2026-12-01T10:00:00.000Z',
    migbench_version: '0.1.0',
    source_host: { hostname: hostname(), cpu_model: 'test CPU', cores: 2, memory_bytes: 8 * 2 ** 30, platform: 'linux-x64', node_version: 'v20.19.0' },
    target: { to: null, bind: null, dest_reserve: true, chunk_bytes: 2 ** 20, window_bytes: 8 * 2 ** 20, ...o.target },
    calibration: { probe_bytes: 256 * 2 ** 20, migrations: 1, memory_bytes: 64 * 2 ** 20, workload: 'idle', zero_fraction: 0, wall_s: 3 },
    links: (o.links ?? [{}]).map((l) => fakeLink(l)),
  };
}
