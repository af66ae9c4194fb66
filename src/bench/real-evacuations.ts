// bench:real's evacuations: several real running guests drained at once into one receiver (evacuateReal),
// each drain beside the simulator's prediction made before it from the bench's calibration profile
// (predictEvacuation). `--evacuations 3x2,6x3` asks for a drain of 3 guests 2 at a time and one of 6
// guests 3 at a time. One row per drain (drains.csv) and one per VM (drain-vms.csv).

import { InputError } from '../errors.js';
import { predictEvacuation, scoreEvacuation } from '../evacuation/predict.js';
import { evacuateReal } from '../evacuation/real.js';
import { evacuationSpec } from '../evacuation/spec.js';
import type { LinkUse } from '../evacuation/types.js';
import type { Profile, ProfileLink } from '../drivers/real/profile.js';
import type { Endpoint } from '../transport/tcp/address.js';
import type { Row } from './columns.js';

export interface DrainCase {
  vms: number;
  maxLive: number;
}

/** `3x2,6x3`: drains of N guests M at a time (N 1-64, M 1-N). */
export function parseDrains(text: string, flag = '--evacuations'): DrainCase[] {
  if (text.trim() === '' || text === 'none') return [];
  return text.split(',').map((part) => {
    const m = /^\s*(\d+)\s*x\s*(\d+)\s*$/.exec(part);
    const vms = Number(m?.[1]);
    const maxLive = Number(m?.[2]);
    if (!m || vms < 1 || vms > 64 || maxLive < 1 || maxLive > vms) throw new InputError({ source: flag, expected: 'drains as VMSxAT_ONCE, comma-separated, such as 3x2,6x3 (1-64 guests, at most that many at once), or none', got: part });
    return { vms, maxLive };
  });
}

export const DRAIN_COLUMNS = [
  'drain',
  'vms',
  'max_live',
  'memory_bytes',
  'workload',
  'channels',
  'network',
  'measured_makespan_s',
  'predicted_makespan_s',
  'makespan_ratio',
  'peak_live',
  'verified_vms',
  'sim_link_rate_bps',
  'sent_bps',
  'busiest_link',
  'busiest_link_mean_utilisation',
  'busiest_link_peak_utilisation',
  'prediction_from',
  'profile',
] as const;

export const DRAIN_VM_COLUMNS = ['drain', 'name', 'start_s', 'predicted_start_s', 'end_s', 'predicted_end_s', 'total_time_s', 'predicted_total_time_s', 'total_time_ratio', 'downtime_ms', 'predicted_downtime_ms', 'verified'] as const;

export interface DrainOptions {
  memory: number;
  workload: string;
  seed: number;
  channels: number;
  network: string;
  profile: Profile;
  link: ProfileLink;
  from: 'profile' | 'calibration';
  profilePath: string;
  to?: Endpoint[];
  key?: Buffer;
  bind?: string[];
  reserve: boolean;
  signal?: AbortSignal;
  log?: (line: string) => void;
}

/**
 * What the kernel counted on this host's interfaces during the drain: everything they sent per second
 * (bits/s, over the makespan; on loopback the whole exchange), and the sending interface busiest against
 * its capacity (null where none has a known capacity, as on loopback).
 */
export function kernelLinks(links: readonly LinkUse[]): Row {
  const tx = links.filter((l) => l.link.endsWith('/tx'));
  const known = tx.filter((l) => l.mean_utilisation !== null);
  const busiest = known.length > 0 ? known.reduce((a, b) => (b.mean_utilisation! > a.mean_utilisation! ? b : a)) : null;
  return {
    sent_bps: tx.length > 0 ? 8 * tx.reduce((t, l) => t + l.mean_bytes_per_s, 0) : null,
    busiest_link: busiest?.link ?? null,
    busiest_link_mean_utilisation: busiest?.mean_utilisation ?? null,
    busiest_link_peak_utilisation: busiest?.peak_utilisation ?? null,
  };
}

/** One drain, predicted then run: its row and its VMs' rows. */
export async function runDrain(c: DrainCase, o: DrainOptions): Promise<{ row: Row; vms: Row[] }> {
  const base = { memory: String(o.memory), workload: o.workload, seed: String(o.seed) };
  const spec = evacuationSpec({ vms: c.vms, maxLive: c.maxLive }, base, o.memory);
  const prediction = predictEvacuation(spec, { profile: o.profile, link: o.link, from: o.from, path: o.profilePath });
  const real = await evacuateReal({
    spec,
    channels: o.channels,
    ...(o.to ? { to: o.to } : {}),
    ...(o.key ? { key: o.key } : {}),
    ...(o.bind ? { bind: o.bind } : {}),
    reserve: o.reserve,
    scratch: true,
    ...(o.signal ? { signal: o.signal } : {}),
    ...(o.log ? { log: o.log } : {}),
  });
  const r = real.result;
  const score = scoreEvacuation(prediction, r);
  const drain = `${c.vms}x${c.maxLive}`;
  const byName = new Map(prediction.vms.map((v) => [v.name, v]));
  const row: Row = {
    drain,
    vms: c.vms,
    max_live: c.maxLive,
    memory_bytes: o.memory,
    workload: o.workload,
    channels: o.channels,
    network: o.network,
    measured_makespan_s: r.makespan_s,
    predicted_makespan_s: prediction.makespan_s,
    makespan_ratio: score.makespan,
    peak_live: r.peak_live,
    verified_vms: r.vms.filter((v) => v.verified === true).length,
    sim_link_rate_bps: prediction.inputs.link_rate_bps * 8,
    ...kernelLinks(r.links),
    prediction_from: o.from,
    profile: o.profilePath,
  };
  const vms: Row[] = r.vms.map((v) => {
    const p = byName.get(v.name);
    return {
      drain,
      name: v.name,
      start_s: v.start_s,
      predicted_start_s: p?.start_s ?? null,
      end_s: v.end_s,
      predicted_end_s: p?.end_s ?? null,
      total_time_s: v.total_time_s,
      predicted_total_time_s: p?.total_time_s ?? null,
      total_time_ratio: p ? v.total_time_s / p.total_time_s : null,
      downtime_ms: v.downtime_ms,
      predicted_downtime_ms: p?.downtime_ms ?? null,
      verified: v.verified,
    };
  });
  return { row, vms };
}
