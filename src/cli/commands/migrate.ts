// `migbench migrate`: one real live migration of a running guest (memory, and with shared-nothing a disk
// image) over the multichannel TCP transport, verified byte for byte. Without --to it starts a
// destination (`migbench migrate-receiver`) on loopback. Exit 0: completed and verified; 3: rolled back
// (the message names why) or not verified; 130: cancelled (Ctrl-C or SIGTERM); 2: bad input.

import type { Command } from 'commander';
import { migrateReal } from '../../drivers/real/driver.js';
import { checkRealScenario, type RealRun } from '../../drivers/real/options.js';
import { scorePrediction, type Prediction } from '../../drivers/real/predict.js';
import { InputError, InterruptedError, MigbenchError } from '../../errors.js';
import { onInterrupt } from '../interrupt.js';
import type { Cause } from '../../migration/events.js';
import { resolveScenario, type OptionKey } from '../../scenario.js';
import { formatBytes, formatDuration, formatRate } from '../../units/index.js';
import { keyValues } from '../../report/table.js';
import { intFlag, rateFlag, sizeFlag } from '../flags.js';
import type { Io } from '../io.js';
import { addScenarioOptions, scenarioInputFrom } from '../options.js';
import { planPrediction, type Planned } from '../prediction.js';
import { addTargetOptions, targetFrom, type TargetFlags } from '../real-target.js';
import { formatResult } from './simulate.js';

/** The real engine's guest memory unless --memory says (the simulator's default, 8 GiB, is a lot of real memory). */
export const REAL_DEFAULT_MEMORY = '1GiB';

/** The scenario options that mean something to the real engine. */
export const REAL_OPTION_KEYS: readonly OptionKey[] = [
  'mode',
  'memory',
  'workload',
  'policy',
  'seed',
  'maxPasses',
  'downtimeLimit',
  'autoConverge',
  'onNoConverge',
  'dirtyRate',
  'workingSet',
  'hotFraction',
  'hotShare',
  'zeroFraction',
  'stateSize',
  'configSize',
  'switchover',
  'pingInterval',
  'tcpTimeout',
  'tcpRtoMin',
  'disk',
  'diskAllocated',
  'storageSegment',
  'writeIops',
  'ioSize',
  'ioHotFraction',
  'ioHotShare',
  'fault',
  'transferTimeout',
  'destRestartTime',
  'stallTime',
];

interface Flags extends TargetFlags {
  channels: string;
  rate?: string;
  destDir?: string;
  sourceDir?: string;
  probe: string;
  profile?: string;
  predict: boolean;
  json?: boolean;
  quiet?: boolean;
  [k: string]: unknown;
}

const CAUSES: Record<Cause, string> = {
  link_down: 'the link to the destination went down',
  all_channels_lost: 'every channel to the destination was lost',
  dest_crash: 'the destination process died',
  dest_storage_error: "the destination's storage failed",
  auth_failure: 'the hosts failed to authenticate each other (pre-shared key)',
  stall_timeout: 'the transfer made no progress for --transfer-timeout',
  no_convergence: 'pre-copy did not converge (--on-no-converge abort)',
  dest_refused: 'the destination refused the migration',
  cancelled: 'cancelled by the operator (Ctrl-C or SIGTERM)',
};

export function registerMigrate(program: Command, io: Io): void {
  const cmd = program
    .command('migrate')
    .description('migrate a running guest for real (memory, device state and with shared-nothing a disk image) over striped TCP channels, verified byte for byte')
    .option('--channels <n>', 'channels in total, spread over the --to addresses', '4')
    .option('--rate <rate>', 'payload rate of the whole link, e.g. 1Gbit/s (token buckets shared by the channels); default unlimited')
    .option('--dest-dir <dir>', "local receiver: keep the destination's files here (default: a temporary directory)")
    .option('--source-dir <dir>', 'where the source disk image is created (default: a temporary directory)')
    .option('--profile <file>', 'predict from this calibration profile (migbench calibrate --out FILE); default: calibrate first (probes and one tiny migration, not counted)')
    .option('--probe <size>', "bytes of the probes: the quick calibration's (without --profile) and this run's own (reported, not used by the prediction); 0: none", '256MiB')
    .option('--no-predict', 'no calibration and no prediction')
    .option('--quiet', 'no progress lines on stderr')
    .option('--json', 'print one JSON object: the result record, plus `real` (measurements) and `prediction`');
  addTargetOptions(cmd);
  addScenarioOptions(cmd, REAL_OPTION_KEYS, { memory: REAL_DEFAULT_MEMORY });
  cmd.action(async (o: Flags) => {
    const input = scenarioInputFrom(o, REAL_OPTION_KEYS);
    input.memory ??= REAL_DEFAULT_MEMORY;
    if (input.mode === 'shared-nothing' && input.disk === undefined) throw new InputError({ source: '--disk', expected: 'a disk size for --mode shared-nothing (the real engine creates the image), such as 2GiB' });
    const scenario = resolveScenario(input);
    const channels = intFlag('--channels', o.channels, 1, 32);
    const rate = o.rate !== undefined ? rateFlag('--rate', o.rate) : null;
    const target = targetFrom(o);
    const probeBytes = sizeFlag('--probe', o.probe, 0);
    // The engine's own checks, before any calibration.
    checkRealScenario({ scenario, channels, ...(target.to ? { to: target.to } : {}) });
    const log = (line: string) => {
      if (!o.quiet && !o.json) io.err(`migbench migrate: ${line}\n`);
    };
    // Ctrl-C (or SIGTERM) cancels: a rollback up to the blackout, like a fault. A second one quits at once.
    const interrupt = onInterrupt(
      io,
      (sig) => (o.quiet ? '' : `migbench migrate: ${sig}: cancelling the migration (Ctrl-C again to kill)\n`),
      'migbench migrate: interrupted again; quitting at once (the run\'s temporary directory may remain)\n',
    );
    let planned: Planned | null = null;
    let run: RealRun;
    try {
      // The prediction first: from the profile, or a calibration now; nothing of the run goes into it.
      if (o.predict) {
        planned = await planPrediction({
          input,
          faults: scenario.faults.length > 0,
          ...(o.profile !== undefined ? { profile: o.profile } : {}),
          target,
          channels,
          rate,
          probeBytes,
          signal: interrupt.signal,
          log,
          warn: (line) => {
            if (!o.quiet) io.err(`migbench migrate: warning: ${line}\n`);
          },
        });
      }
      run = await migrateReal({
        signal: interrupt.signal,
        scenario,
        channels,
        ...(rate !== null ? { rate } : {}),
        ...(target.to ? { to: target.to } : {}),
        ...(target.key ? { key: target.key } : {}),
        ...(target.bind ? { bind: target.bind } : {}),
        ...(o.destDir !== undefined ? { destDir: o.destDir } : {}),
        ...(o.sourceDir !== undefined ? { sourceDir: o.sourceDir } : {}),
        probeBytes,
        destReserve: target.destReserve,
        chunkSize: target.chunkSize,
        window: target.window,
        log,
      });
    } finally {
      interrupt.dispose();
    }
    const prediction = planned ? scorePrediction(input, planned.planned, run, planned.link) : null;
    if (o.json) io.out(`${JSON.stringify({ ...run.result, real: run.measured, prediction })}\n`);
    else io.out(human(run, prediction));
    const failure = verdict(run);
    if (failure) throw run.result.rollback_reason === 'cancelled' ? new InterruptedError(failure) : new MigbenchError('E_MIGRATION', failure);
  });
}

/** Why the run is a failure (exit 3), or null. */
export function verdict(run: RealRun): string | null {
  const r = run.result;
  if (r.outcome === 'rolled_back') {
    const said = run.measured.failure?.message;
    const why = `${CAUSES[r.rollback_reason as Cause] ?? r.rollback_reason}${said && r.rollback_reason === 'dest_refused' ? ` (${said})` : ''}`;
    const intact = run.measured.source_intact;
    const checks = [intact.memory === null ? null : `memory ${intact.memory ? 'intact' : 'NOT intact'}`, intact.disk === null ? null : `disk ${intact.disk ? 'intact' : 'NOT intact'}`].filter(Boolean).join(', ');
    const broken = r.invariants_ok ? '' : `; BROKEN: ${r.invariant_violations}`;
    return `migration rolled back (${r.rollback_reason}): ${why}${r.faults ? ` (fault ${r.faults})` : ''}; the VM keeps running on the source (${checks}), ${r.destination_files_left} file(s) left on the destination${broken}`;
  }
  if (r.verified !== true || !r.invariants_ok) return `migration completed but did not verify: ${r.invariant_violations ?? 'hashes differ'}`;
  return null;
}

function human(run: RealRun, p: Prediction | null): string {
  const r = run.result;
  const m = run.measured;
  const gbps = (b: number | null) => (b === null ? 'n/a' : formatRate(b));
  const pairs: [string, string][] = [
    ['engine', `real, ${m.channels} channel(s) to ${m.targets.join(', ')}${m.rate_bps ? `, limited to ${formatRate(m.rate_bps)}` : ''}`],
    ['link probe', `${gbps(m.link_goodput_bps)} goodput, control round trip ${m.control_rtt_s === null ? 'n/a' : formatDuration(m.control_rtt_s)}`],
    ['page path probe', `${gbps(m.page_path_goodput_bps)} of non-zero pages, zero pages found at ${m.zero_scan_bps === null ? 'n/a' : formatRate(m.zero_scan_bps)}, ${m.run_cost_s === null ? 'n/a' : formatDuration(m.run_cost_s)} per scattered page`],
    ['round 0', `${gbps(m.round0_goodput_bps)} of memory`],
    ['phases', `config ${formatDuration(m.phases.config_s)}, storage copy ${formatDuration(m.phases.storage_copy_s)}, pre-copy ${formatDuration(m.phases.precopy_s)}, blackout ${formatDuration(m.phases.blackout_s)}, handoff ${formatDuration(m.phases.handoff_s)}, resume ${formatDuration(m.phases.resume_s)}, clean-up ${formatDuration(m.phases.cleanup_s)}`],
    ['verified', r.verified === null ? 'n/a (rolled back)' : r.verified ? `yes (SHA-256 of memory${r.mode === 'shared-nothing' ? ', disk' : ''} and device state equal; checked in ${formatDuration(m.verify_s)}, not counted)` : 'NO'],
  ];
  if (r.outcome === 'rolled_back') pairs.push(['source intact', `memory ${m.source_intact.memory}, disk ${m.source_intact.disk ?? 'n/a'} (replay of the guest's ${m.guest_writes} memory and ${m.disk_writes} disk writes)`]);
  if (m.channels_failed.length > 0) pairs.push(['channels failed', `${m.channels_failed.join('; ')} (${formatBytes(m.bytes_resent)} re-sent)`]);
  if (p) {
    const i = p.inputs;
    const ratio = (x: number | null) => (x === null ? 'n/a' : x.toFixed(2));
    pairs.push(['prediction', `made before the migration from ${i.from === 'profile' ? `profile ${i.profile} (calibrated ${i.profile_created_at})` : 'a calibration just before it (not counted in the migration)'}: ${formatRate(i.link_rate_bps)} (${i.link_rate_from}), round trip ${formatDuration(i.rtt_s)}, setup ${formatDuration(i.setup_time_s)}, clean-up ${formatDuration(i.cleanup_time_s)}`]);
    pairs.push(['predicted', `total ${formatDuration(p.sim.total_time_s)}, downtime ${formatDuration(p.sim.downtime_ms / 1000)}, ${p.sim.precopy_rounds} round(s)`]);
    pairs.push(['measured/predicted', `total ${formatDuration(r.total_time_s)} / ${formatDuration(p.sim.total_time_s)} = ${ratio(p.ratio.total_time)}, downtime ${formatDuration(r.downtime_ms / 1000)} / ${formatDuration(p.sim.downtime_ms / 1000)} = ${ratio(p.ratio.downtime)}`]);
    for (const n of [...p.notes, ...p.warnings.map((w) => `warning: ${w}`)]) pairs.push(['', n]);
  }
  return formatResult(r) + '\n' + keyValues(pairs);
}
