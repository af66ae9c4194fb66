// Calibrating a host pair for the prediction (`migbench calibrate`, or `migrate`'s quick calibration):
// per link (channels, rate limit), a few tiny real migrations of an idle guest whose memory is all
// non-zero, to the same destination the runs will use. Each one's probes (probe.ts: plain link, page
// path, scattered pages, zero-page reads) give the rates (medians over the migrations: each probes in
// its own moment of a busy host); their control round trips and phases give the fixed costs (setup,
// handoff, resume, clean-up: medians); their round 0 (all memory, the destination's own costs included)
// against the page-path probe gives the destination's cost per page beyond the probe's. Nothing here is
// of a run to be predicted.

import { cpus, hostname, totalmem } from 'node:os';
import { median } from 'simple-statistics';
import { InputError, InterruptedError, MigbenchError } from '../../errors.js';
import { resolveScenario } from '../../scenario.js';
import { formatEndpoint, type Endpoint } from '../../transport/tcp/address.js';
import { CHANNEL_WINDOW, CHUNK_SIZE } from '../../transport/defaults.js';
import { formatBytes, PAGE_SIZE } from '../../units/index.js';
import { VERSION } from '../../version.js';
import { migrateReal } from './driver.js';
import type { RealRun } from './options.js';
import { linkLabel, parseProfile, PROFILE_KIND, PROFILE_VERSION, type CalibrationMigration, type LinkSpec, type Profile, type ProfileLink } from './profile.js';

/** The calibration guest: small, idle (few writes during its migration) and with no zero page. */
export const CALIBRATION_MEMORY = 64 * 2 ** 20;
export const CALIBRATION_WORKLOAD = 'idle';
/** Seconds of a rate-limited link the link probe lasts at most (the wire, not the probe size, sets it). */
const LIMITED_PROBE_SECONDS = 1.5;
/** Seconds a calibration migration over a rate-limited link lasts at most (its fixed costs do not depend on the guest's size). */
const LIMITED_MIGRATION_SECONDS = 0.5;

export interface CalibrateOptions {
  /** The links to calibrate (each a separate set of migrations). */
  links: LinkSpec[];
  /** Destination addresses (`migrate-receiver`); none: a local receiver on loopback, one per migration. */
  to?: Endpoint[];
  key?: Buffer;
  bind?: string[];
  chunkSize?: number;
  window?: number;
  /** Local receiver: memory reserved before each migration (default true, as `migrate`). */
  destReserve?: boolean;
  /** Bytes of the probes (at least 1 MiB; a rate-limited link's at most 1.5 s of it). Default 256 MiB. */
  probeBytes?: number;
  /** Calibration migrations per link (default 3). */
  migrations?: number;
  /** The calibration guest's memory (default 64 MiB). */
  memoryBytes?: number;
  signal?: AbortSignal;
  log?: (line: string) => void;
}

/** The probe size for a link: a rate-limited link's probe lasts at most 1.5 s (whole MiB, at least 1 MiB). */
export function probeBytesFor(probe: number, rate: number | null): number {
  if (rate === null) return probe;
  return Math.max(2 ** 20, Math.min(probe, Math.floor((rate * LIMITED_PROBE_SECONDS) / 2 ** 20) * 2 ** 20));
}

/** The calibration guest for a link: a rate-limited link's moves in about half a second (whole MiB, at least 1 MiB). */
export function calibrationMemoryFor(memory: number, rate: number | null): number {
  if (rate === null) return memory;
  return Math.max(2 ** 20, Math.min(memory, Math.floor((rate * LIMITED_MIGRATION_SECONDS) / 2 ** 20) * 2 ** 20));
}

/** Calibrate every link of `o` against its destination: the profile (not written; see profileJson). */
export async function calibrate(o: CalibrateOptions): Promise<Profile> {
  const probe = o.probeBytes ?? 256 * 2 ** 20;
  const n = o.migrations ?? 3;
  const memory = o.memoryBytes ?? CALIBRATION_MEMORY;
  if (!(probe >= 2 ** 20)) throw new InputError({ source: '--probe', expected: 'at least 1MiB: the calibration measures the link and the page path with it', got: formatBytes(probe) });
  if (!(Number.isInteger(n) && n >= 1 && n <= 20)) throw new InputError({ source: '--migrations', expected: 'a whole number from 1 to 20', got: n });
  if (o.links.length === 0) throw new InputError({ source: '--channels', expected: 'at least one link to calibrate' });
  const t0 = performance.now();
  const log = o.log ?? (() => undefined);
  const links: ProfileLink[] = [];
  for (const link of o.links) links.push(await calibrateLink(o, link, probeBytesFor(probe, link.rate), n, calibrationMemoryFor(memory, link.rate), log));
  const c = cpus();
  const profile: Profile = {
    kind: PROFILE_KIND,
    version: PROFILE_VERSION,
    created_at: new Date().toISOString(),
    migbench_version: VERSION,
    source_host: { hostname: hostname(), cpu_model: c[0]?.model.trim() || 'unknown', cores: Math.max(1, c.length), memory_bytes: totalmem(), platform: `${process.platform}-${process.arch}`, node_version: process.version },
    target: {
      to: o.to ? o.to.map(formatEndpoint) : null,
      bind: o.bind ?? null,
      dest_reserve: o.to ? null : (o.destReserve ?? true),
      chunk_bytes: o.chunkSize ?? CHUNK_SIZE,
      window_bytes: o.window ?? CHANNEL_WINDOW,
    },
    calibration: { probe_bytes: probe, migrations: n, memory_bytes: memory, workload: CALIBRATION_WORKLOAD, zero_fraction: 0, wall_s: (performance.now() - t0) / 1000 },
    links,
  };
  // Never hand out a profile that would not load again.
  return parseProfile(JSON.stringify(profile), 'the calibration');
}

async function calibrateLink(o: CalibrateOptions, link: LinkSpec, probe: number, n: number, memory: number, log: (line: string) => void): Promise<ProfileLink> {
  const what = `${link.channels} channel(s) ${linkLabel(link)}`;
  const runs: RealRun[] = [];
  for (let i = 0; i < n; i++) {
    if (o.signal?.aborted) throw new InterruptedError('calibration cancelled (nothing was written)');
    log(`calibrating ${what}: migration ${i + 1} of ${n} (${formatBytes(memory)} idle guest, after probes of ${formatBytes(probe)})`);
    const run = await migrateReal({
      scenario: resolveScenario({ memory: String(memory), workload: CALIBRATION_WORKLOAD, zeroFraction: '0', seed: String(i + 1) }),
      channels: link.channels,
      scratch: true,
      ...(link.rate !== null ? { rate: link.rate } : {}),
      ...(o.to ? { to: o.to } : {}),
      ...(o.key ? { key: o.key } : {}),
      ...(o.bind ? { bind: o.bind } : {}),
      ...(o.chunkSize !== undefined ? { chunkSize: o.chunkSize } : {}),
      ...(o.window !== undefined ? { window: o.window } : {}),
      ...(o.destReserve !== undefined ? { destReserve: o.destReserve } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
      probeBytes: probe,
      log: (line) => log(`calibration: ${line}`),
    });
    const r = run.result;
    if (r.rollback_reason === 'cancelled') throw new InterruptedError('calibration cancelled (nothing was written)');
    if (r.outcome !== 'completed' || r.verified !== true) {
      throw new MigbenchError('E_MIGRATION', `calibration migration ${i + 1} of ${n} (${what}) ${r.outcome === 'completed' ? 'did not verify' : `rolled back (${r.rollback_reason})`}: ${run.measured.failure?.message ?? r.invariant_violations ?? 'hashes differ'}`);
    }
    runs.push(run);
  }
  // The probes of every migration (each in its own moment of a busy host): their medians.
  const medianOf = (f: (m: RealRun['measured']) => number | null): number | null => {
    const xs = runs.map((r) => f(r.measured)).filter((x): x is number => x !== null && x > 0);
    return xs.length > 0 ? median(xs) : null;
  };
  const linkGoodput = medianOf((m) => m.link_goodput_bps);
  if (linkGoodput === null) throw new MigbenchError('E_MIGRATION', `calibration of ${what}: the link probe measured nothing`);
  const pp = medianOf((m) => m.page_path_goodput_bps);
  const rate = pp ?? linkGoodput;
  const configBytes = resolveScenario({}).timing.configBytes;
  const migrations: CalibrationMigration[] = runs.map((run) => {
    const m = run.measured;
    const ph = m.phases;
    return {
      vm: m.vm,
      memory_bytes: run.result.memory_bytes,
      total_time_s: run.result.total_time_s,
      downtime_ms: run.result.downtime_ms,
      config_s: ph.config_s,
      precopy_s: ph.precopy_s,
      blackout_s: ph.blackout_s,
      handoff_s: ph.handoff_s,
      resume_s: ph.resume_s,
      cleanup_s: ph.cleanup_s,
      control_rtt_s: m.control_rtt_s ?? 0,
      round0_goodput_bps: m.round0_goodput_bps !== null && m.round0_goodput_bps > 0 ? m.round0_goodput_bps : null,
      dest_prepare_s: m.dest_prepare_s,
      link_goodput_bps: m.link_goodput_bps,
      page_path_goodput_bps: m.page_path_goodput_bps,
      zero_scan_bps: m.zero_scan_bps,
      run_cost_s: m.run_cost_s,
    };
  });
  const med = (f: (m: CalibrationMigration) => number) => median(migrations.map(f));
  // Each phase less the round trip the simulator adds for it (and setup less the configuration's bytes).
  const fixed = {
    setup_time_s: med((m) => Math.max(0, m.config_s - m.control_rtt_s - configBytes / rate)),
    handoff_time_s: med((m) => Math.max(0, m.handoff_s - m.control_rtt_s)),
    resume_time_s: med((m) => Math.max(0, m.resume_s - m.control_rtt_s)),
    cleanup_time_s: med((m) => Math.max(0, m.cleanup_s - m.control_rtt_s)),
  };
  const r0 = migrations.map((m) => m.round0_goodput_bps).filter((x): x is number => x !== null);
  // A local receiver with reserved memory has no first-touch cost to find (0, not noise); elsewhere
  // (no reserve, or a remote receiver that may or may not reserve) round 0 says what the probe missed.
  const reserved = !o.to && (o.destReserve ?? true);
  const destCost = pp !== null && r0.length > 0 && !reserved ? Math.max(0, median(r0.map((g) => PAGE_SIZE / g - PAGE_SIZE / pp))) : null;
  return {
    channels: link.channels,
    rate_bps: link.rate,
    probe_bytes: probe,
    link_goodput_bps: linkGoodput,
    page_path_goodput_bps: pp,
    zero_scan_bps: medianOf((m) => m.zero_scan_bps),
    run_cost_s: pp === null ? null : median(runs.map((r) => r.measured.run_cost_s).filter((x): x is number => x !== null)),
    control_rtt_s: med((m) => m.control_rtt_s),
    memory_path_goodput_bps: r0.length > 0 ? median(r0) : null,
    dest_page_cost_s: destCost,
    ...fixed,
    migrations,
  };
}
