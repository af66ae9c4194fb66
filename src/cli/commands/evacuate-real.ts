// `migbench evacuate --engine real`: the same VMs, order and limits as the simulated drain, moved as real
// running guests into one destination (a receiver started on loopback, or `--to` a `migrate-receiver`),
// beside the simulator's prediction made before the first guest moves, from `--profile FILE` or from a
// quick calibration made first. Exit 0: every VM moved and verified; 3: one rolled back or did not verify;
// 130: cancelled; 2: bad input (a profile of another destination or link is refused).

import type { Command } from 'commander';
import { hostname } from 'node:os';
import { calibrate } from '../../drivers/real/calibrate.js';
import { loadProfile, matchProfile, type Profile, type ProfileLink } from '../../drivers/real/profile.js';
import { InputError, InterruptedError, MigbenchError } from '../../errors.js';
import { predictEvacuation, scoreEvacuation, type EvacuationPrediction, type EvacuationScore } from '../../evacuation/predict.js';
import { checkRealEvacuation, evacuateReal, type RealEvacuation } from '../../evacuation/real.js';
import type { EvacuationSpec } from '../../evacuation/types.js';
import { keyValues, table } from '../../report/table.js';
import { formatBytes, formatDuration, formatRate } from '../../units/index.js';
import { intFlag, sizeFlag } from '../flags.js';
import { onInterrupt } from '../interrupt.js';
import type { Io } from '../io.js';
import { runTarget, targetFrom } from '../real-target.js';

export interface RealFlags {
  engine?: string;
  to?: string;
  keyFile?: string;
  bind?: string;
  channels?: string;
  profile?: string;
  probe?: string;
  reserve: boolean;
  quiet?: boolean;
  json?: boolean;
  [k: string]: unknown;
}

/** The real engine's own flags (ignored by the simulator, which refuses them when given). */
export function addRealEvacuationOptions(cmd: Command): void {
  cmd
    .option('--engine <engine>', 'sim (the simulator) or real (real running guests, moved over TCP and verified)', 'sim')
    .option('--to <addrs>', 'real: destination ADDR:PORT[,...] running `migbench migrate-receiver` (default: one started on loopback)')
    .option('--key-file <file>', 'real: pre-shared key file for --to (or the MIGBENCH_KEY environment variable)')
    .option('--bind <addrs>', 'real: local address per --to address (or one for all)')
    .option('--channels <n>', 'real: channels per migration, spread over the --to addresses (default: 4)')
    .option('--profile <file>', 'real: predict from this calibration (migbench calibrate); default: calibrate first')
    .option('--probe <size>', 'real, without --profile: bytes of the quick calibration\'s probes (default: 256MiB)')
    .option('--no-reserve', "real, local receiver: do not keep the VMs' memory zeroed and faulted in before the drain")
    .option('--quiet', 'real: no progress lines on stderr');
}

export const REAL_ONLY_FLAGS = ['to', 'keyFile', 'bind', 'channels', 'profile', 'probe', 'quiet'] as const;

export interface RealEvacuationOutput extends Omit<RealEvacuation['result'], never> {
  prediction: EvacuationPrediction;
  ratio: EvacuationScore;
  real: { guests_start_s: number; vms: RealEvacuation['measured'] };
}

export async function runRealEvacuation(o: RealFlags, spec: EvacuationSpec, io: Io): Promise<RealEvacuationOutput> {
  for (const [key, flag] of [['network', '--network'], ['nics', '--nics'], ['linkRate', '--link-rate']] as const) {
    if (spec.base[key] !== undefined) throw new InputError({ source: flag, expected: 'no simulated network with --engine real (the guests cross the real link; shape it with the kernel, as bench:real -- --netns does)', got: spec.base[key] });
  }
  if (spec.base.transport !== undefined) throw new InputError({ source: '--transport', expected: 'no --transport with --engine real (it moves memory over striped TCP channels)', got: spec.base.transport });
  const target = targetFrom({ ...(o.to !== undefined ? { to: o.to } : {}), ...(o.keyFile !== undefined ? { keyFile: o.keyFile } : {}), ...(o.bind !== undefined ? { bind: o.bind } : {}), chunk: '1MiB', window: '8MiB', reserve: o.reserve });
  const channels = intFlag('--channels', o.channels ?? '4', 1, 32);
  const targets = target.to?.length ?? 1;
  if (channels % targets !== 0) throw new InputError({ source: '--channels', expected: `a multiple of the ${targets} --to address(es)`, got: channels });
  checkRealEvacuation({ spec, ...(target.to ? { to: target.to } : {}) });
  const log = (line: string) => {
    if (!o.quiet && !o.json) io.err(`migbench evacuate: ${line}\n`);
  };
  const interrupt = onInterrupt(io, (sig) => `migbench evacuate: ${sig}: cancelling the drain (moves in flight roll back; Ctrl-C again to kill)\n`, 'migbench evacuate: interrupted again; quitting at once\n');
  try {
    // The prediction first, before any guest exists.
    let profile: Profile;
    let link: ProfileLink;
    let warnings: string[] = [];
    const run = runTarget(target, channels, null);
    if (o.profile !== undefined) {
      profile = loadProfile(o.profile);
      ({ link, warnings } = matchProfile(profile, run, o.profile, hostname()));
      for (const w of warnings) io.err(`migbench evacuate: warning: --profile ${o.profile}: ${w}\n`);
    } else {
      const t = performance.now();
      const probeBytes = sizeFlag('--probe', o.probe ?? '256MiB', 2 ** 20);
      log(`calibrating first (not part of the drain): probes of ${formatBytes(probeBytes)} and two tiny migrations to the same destination`);
      profile = await calibrate({ links: [{ channels, rate: null }], ...target, probeBytes, migrations: 2, signal: interrupt.signal, log });
      link = profile.links[0]!;
      log(`calibrated in ${formatDuration((performance.now() - t) / 1000)}`);
    }
    const prediction = predictEvacuation(spec, { profile, link, from: o.profile !== undefined ? 'profile' : 'calibration', path: o.profile ?? null, warnings });
    log(`predicted before the first guest moves: makespan ${formatDuration(prediction.makespan_s)} (link ${formatRate(prediction.inputs.link_rate_bps)}, from ${o.profile !== undefined ? `profile ${o.profile}` : 'the calibration'})`);
    const real = await evacuateReal({
      spec,
      channels,
      ...(target.to ? { to: target.to } : {}),
      ...(target.key ? { key: target.key } : {}),
      ...(target.bind ? { bind: target.bind } : {}),
      reserve: target.destReserve,
      signal: interrupt.signal,
      log,
    });
    return { ...real.result, prediction, ratio: scoreEvacuation(prediction, real.result), real: { guests_start_s: real.guests_start_s, vms: real.measured } };
  } catch (e) {
    if (interrupt.signal.aborted && !(e instanceof InterruptedError) && !(e instanceof InputError)) throw new InterruptedError(`evacuation cancelled: ${(e as Error).message}`);
    throw e;
  } finally {
    interrupt.dispose();
  }
}

/** Why the drain is a failure (exit 3), or null. */
export function realVerdict(r: RealEvacuationOutput): MigbenchError | null {
  const bad = r.vms.filter((v) => v.outcome !== 'completed' || v.verified !== true);
  if (bad.length === 0) return null;
  return new MigbenchError('E_MIGRATION', `${bad.length} of ${r.vms.length} VM(s) did not move verified: ${bad.map((v) => `${v.name} ${v.outcome === 'completed' ? 'NOT verified' : `rolled back (${v.rollback_reason}), it runs on the source`}`).join('; ')}`);
}

/** The lines a person reads after the simulated summary's: the prediction beside the measurement. */
export function formatRealPart(r: RealEvacuationOutput): string {
  const p = r.prediction;
  const pairs: [string, string][] = [
    ['engine', `real: ${r.vms.length} running guests, started in ${formatDuration(r.real.guests_start_s)} before the drain (not counted)`],
    ['verified', `${r.vms.filter((v) => v.verified === true).length} of ${r.vms.length} (SHA-256 of memory${r.vms.some((v) => v.mode === 'shared-nothing') ? ', disk' : ''} and device state equal at both ends)`],
    ['predicted', `makespan ${formatDuration(p.makespan_s)}: measured / predicted ${r.ratio.makespan.toFixed(2)} (from ${p.from === 'profile' ? `profile ${p.profile}` : 'a calibration made first'}, link ${formatRate(p.inputs.link_rate_bps)})`],
    ...p.warnings.map((w) => ['warning', w] as [string, string]),
    ...p.notes.map((n) => ['', n] as [string, string]),
  ];
  const byName = new Map(p.vms.map((v) => [v.name, v]));
  const rows = r.vms.map((v) => {
    const q = byName.get(v.name);
    return [v.name, formatDuration(v.start_s), q ? formatDuration(q.start_s) : '-', formatDuration(v.end_s), q ? formatDuration(q.end_s) : '-', formatDuration(v.total_time_s), q ? formatDuration(q.total_time_s) : '-', q ? (v.total_time_s / q.total_time_s).toFixed(2) : '-'];
  });
  return '\n' + keyValues(pairs) + '\nmeasured beside predicted\n' + table(['VM', 'start', 'predicted', 'end', 'predicted', 'total', 'predicted', 'ratio'], rows);
}
