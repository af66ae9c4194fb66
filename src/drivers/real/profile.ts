// A calibration profile of a host pair (`migbench calibrate --out host.json`): what the real engine's
// prediction is made from, measured before the migration it predicts and never during it. The source
// host, the target (a local receiver on loopback, or the --to addresses), and per link (channels, rate
// limit): the probes (plain link, page path, scattered pages, zero-page reads, control round trips) and
// the fixed costs of a few tiny calibration migrations (setup, handoff, resume, clean-up; medians).
// Rates are bytes/s, times seconds, sizes bytes (as in the result record). docs/real.md lists every field.

import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { InputError } from '../../errors.js';
import { formatRate } from '../../units/index.js';

export const PROFILE_VERSION = 1;
export const PROFILE_KIND = 'migbench-calibration';

const rate = (what: string) => z.number({ error: `${what}: a rate in bytes/s (a number > 0)` }).positive({ error: `${what}: a rate in bytes/s (a number > 0)` }).finite();
const seconds = (what: string) => z.number({ error: `${what}: seconds (a number >= 0)` }).nonnegative({ error: `${what}: seconds (a number >= 0)` }).finite();
const bytes = (what: string) => z.number({ error: `${what}: bytes (a whole number >= 0)` }).int({ error: `${what}: bytes (a whole number >= 0)` }).nonnegative({ error: `${what}: bytes (a whole number >= 0)` });
const count = (what: string, min: number) => z.number({ error: `${what}: a whole number >= ${min}` }).int({ error: `${what}: a whole number >= ${min}` }).min(min, { error: `${what}: a whole number >= ${min}` });
const text = (what: string) => z.string({ error: `${what}: a string` }).min(1, { error: `${what}: a non-empty string` });

/** One calibration migration, as measured (the medians below are made from these). */
const MigrationSchema = z.object({
  vm: text('the calibration VM'),
  memory_bytes: count('the calibration guest memory', 2 ** 20),
  total_time_s: seconds('total time'),
  downtime_ms: z.number({ error: 'downtime: milliseconds (a number >= 0)' }).nonnegative({ error: 'downtime: milliseconds (a number >= 0)' }),
  config_s: seconds('config phase'),
  precopy_s: seconds('pre-copy phase'),
  blackout_s: seconds('blackout phase'),
  handoff_s: seconds('handoff phase'),
  resume_s: seconds('resume phase'),
  cleanup_s: seconds('clean-up phase'),
  control_rtt_s: seconds('control round trip'),
  round0_goodput_bps: rate('round 0 goodput').nullable(),
  dest_prepare_s: seconds('destination prepare').nullable(),
  link_goodput_bps: rate('link goodput').nullable(),
  page_path_goodput_bps: rate('page-path goodput').nullable(),
  zero_scan_bps: rate('zero-page read rate').nullable(),
  run_cost_s: seconds('run cost').nullable(),
});

const LinkSchema = z.object({
  channels: count('channels', 1),
  rate_bps: rate('rate limit').nullable(),
  probe_bytes: bytes('probe size'),
  link_goodput_bps: rate('link goodput'),
  page_path_goodput_bps: rate('page-path goodput').nullable(),
  zero_scan_bps: rate('zero-page read rate').nullable(),
  run_cost_s: seconds('run cost').nullable(),
  control_rtt_s: seconds('control round trip'),
  memory_path_goodput_bps: rate('memory path goodput').nullable(),
  dest_page_cost_s: seconds('destination page cost').nullable(),
  setup_time_s: seconds('setup time'),
  handoff_time_s: seconds('handoff time'),
  resume_time_s: seconds('resume time'),
  cleanup_time_s: seconds('clean-up time'),
  migrations: z.array(MigrationSchema, { error: 'the calibration migrations: a list' }).min(1, { error: 'at least one calibration migration' }),
});

export const ProfileSchema = z.object({
  kind: z.literal(PROFILE_KIND, { error: `"${PROFILE_KIND}"` }),
  version: z.literal(PROFILE_VERSION, { error: `version ${PROFILE_VERSION} (this migbench's profile format; run migbench calibrate again to make one)` }),
  created_at: z.iso.datetime({ error: 'an ISO 8601 UTC time such as 2026-01-02T03:04:05.000Z' }),
  migbench_version: text('the migbench version'),
  source_host: z.object({
    hostname: text('hostname'),
    cpu_model: text('CPU model'),
    cores: count('cores', 1),
    memory_bytes: bytes('memory'),
    platform: text('platform'),
    node_version: text('Node.js version'),
  }),
  target: z.object({
    to: z.array(text('a destination ADDR:PORT'), { error: 'null (a local receiver on loopback) or a list of ADDR:PORT' }).min(1).nullable(),
    bind: z.array(text('a local address'), { error: 'null or a list of local addresses' }).nullable(),
    dest_reserve: z.boolean({ error: 'true, false or null (a remote destination: unknown)' }).nullable(),
    chunk_bytes: count('chunk size', 4096),
    window_bytes: count('window', 65536),
  }),
  calibration: z.object({
    probe_bytes: bytes('probe size'),
    migrations: count('migrations per link', 1),
    memory_bytes: count('calibration guest memory', 2 ** 20),
    workload: text('calibration workload'),
    zero_fraction: z.number({ error: 'zero fraction: a number from 0 to 1' }).min(0).max(1),
    wall_s: seconds('calibration wall time'),
  }),
  links: z.array(LinkSchema, { error: 'the calibrated links: a list' }).min(1, { error: 'at least one calibrated link' }),
});

export type Profile = z.infer<typeof ProfileSchema>;
export type ProfileLink = Profile['links'][number];
export type CalibrationMigration = ProfileLink['migrations'][number];

/** A link as the run uses it: channels in total and the payload rate limit (null: unlimited). */
export interface LinkSpec {
  channels: number;
  rate: number | null;
}

const pathOf = (path: readonly PropertyKey[]): string => path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i > 0 ? '.' : ''}${String(p)}`)).join('');

function valueAt(json: unknown, path: readonly PropertyKey[]): unknown {
  let v = json;
  for (const p of path) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[p] : undefined;
  return v;
}

/** A profile from JSON text; `source` (the file) is named in every error with the field's path. */
export function parseProfile(textIn: string, source: string): Profile {
  let json: unknown;
  try {
    json = JSON.parse(textIn);
  } catch (e) {
    throw new InputError({ source, expected: 'a calibration profile in JSON (written by migbench calibrate --out FILE)', detail: (e as Error).message });
  }
  const r = ProfileSchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const got = valueAt(json, issue.path);
    throw new InputError({ source, ...(issue.path.length > 0 ? { path: pathOf(issue.path) } : {}), expected: issue.message, ...(got === undefined ? { detail: 'missing' } : { got }) });
  }
  const p = r.data;
  p.links.forEach((l, i) => {
    if (l.page_path_goodput_bps === null && l.rate_bps === null) throw new InputError({ source, path: `links[${i}].page_path_goodput_bps`, expected: 'a rate in bytes/s for an unlimited link (its page path sets the pace)', got: null });
    if (p.links.findIndex((o) => o.channels === l.channels && o.rate_bps === l.rate_bps) !== i) throw new InputError({ source, path: `links[${i}]`, expected: 'one entry per channels and rate_bps', got: `${l.channels} channel(s), ${linkLabel(l)}` });
  });
  return p;
}

/** Read and validate a profile file (`flag` names the option for an unreadable file). */
export function loadProfile(file: string, flag = '--profile'): Profile {
  let textIn: string;
  try {
    textIn = readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError({ source: flag, expected: 'a readable calibration profile (migbench calibrate --out FILE)', got: file, detail: (e as Error).message });
  }
  return parseProfile(textIn, file);
}

/** The profile as written to its file (checked against the schema first: never a file that will not load). */
export function profileJson(p: Profile): string {
  const json = `${JSON.stringify(p, null, 2)}\n`;
  parseProfile(json, 'the new profile');
  return json;
}

export const linkLabel = (l: { rate_bps: number | null } | { rate: number | null }): string => {
  const r = 'rate_bps' in l ? l.rate_bps : l.rate;
  return r === null ? 'unlimited' : `limited to ${formatRate(r)}`;
};

/** The profile's entry for this link, or null. */
export function profileLink(p: Profile, link: LinkSpec): ProfileLink | null {
  return p.links.find((l) => l.channels === link.channels && l.rate_bps === link.rate) ?? null;
}

/** What a run is (the profile must describe the same target and link). */
export interface RunTarget extends LinkSpec {
  /** --to addresses as given (formatted ADDR:PORT), null: a local receiver on loopback. */
  to: string[] | null;
  bind: string[] | null;
  /** Local receiver only: its memory reserved before the migration (null: remote). */
  destReserve: boolean | null;
  chunkBytes: number;
  windowBytes: number;
}

/**
 * Does `p` describe this run's host pair and link? A different destination, or a link (channels, rate
 * limit) the profile did not calibrate, is refused (InputError naming `source`): its figures are of
 * another path. Other differences are warnings: the figures still describe the path, less well.
 */
export function matchProfile(p: Profile, run: RunTarget, source: string, host: string): { link: ProfileLink; warnings: string[] } {
  const where = (to: string[] | null) => (to === null ? 'a local receiver on loopback' : to.join(','));
  if (where(p.target.to) !== where(run.to)) throw new InputError({ source, path: 'target.to', expected: `a profile of this run's destination (${where(run.to)}); calibrate it with migbench calibrate${run.to ? ` --to ${run.to.join(',')}` : ''}`, got: where(p.target.to) });
  const link = profileLink(p, run);
  if (!link) {
    const have = p.links.map((l) => `${l.channels} channel(s) ${linkLabel(l)}`).join('; ');
    throw new InputError({ source, path: 'links', expected: `a calibration of ${run.channels} channel(s) ${linkLabel(run)} (the profile has: ${have}); calibrate with --channels ${run.channels}${run.rate === null ? '' : ` --rate ${formatRate(run.rate)}`}`, got: have });
  }
  const warnings: string[] = [];
  const same = (a: string[] | null, b: string[] | null) => (a ?? []).join(',') === (b ?? []).join(',');
  if (!same(p.target.bind, run.bind)) warnings.push(`the profile was calibrated with --bind ${p.target.bind?.join(',') ?? '(none)'}, this run uses ${run.bind?.join(',') ?? '(none)'}`);
  if (run.destReserve !== null && p.target.dest_reserve !== run.destReserve) warnings.push(`the profile's local destination ${p.target.dest_reserve ? 'reserved' : 'did not reserve'} its memory, this run's ${run.destReserve ? 'does' : 'does not'} (--no-reserve): first-touch page faults at the destination differ`);
  if (p.target.chunk_bytes !== run.chunkBytes) warnings.push(`the profile was calibrated with --chunk ${p.target.chunk_bytes} bytes, this run uses ${run.chunkBytes}`);
  if (p.target.window_bytes !== run.windowBytes) warnings.push(`the profile was calibrated with --window ${p.target.window_bytes} bytes, this run uses ${run.windowBytes}`);
  if (p.source_host.hostname !== host) warnings.push(`the profile was made on host ${p.source_host.hostname}, this is ${host}`);
  return { link, warnings };
}
