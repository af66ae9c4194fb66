// `migbench calibrate`: measure this host pair for the real engine's prediction and write the profile
// (`--out host.json`) that `migrate --profile` and `bench:real --profile` predict from. Against a local
// receiver on loopback (as `migrate` starts one), or --to a `migrate-receiver`. Per link (--channels,
// --rate; lists calibrate several): the probes and a few tiny migrations. Exit 0: written; 2: bad input;
// 3: a calibration migration failed or the destination could not be reached (nothing written); 130: cancelled.

import type { Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { calibrate, CALIBRATION_MEMORY } from '../../drivers/real/calibrate.js';
import { linkLabel, profileJson, type LinkSpec, type Profile } from '../../drivers/real/profile.js';
import { InputError } from '../../errors.js';
import { writeFileAtomic } from '../../report/files.js';
import { table } from '../../report/table.js';
import { formatBytes, formatDuration, formatRate } from '../../units/index.js';
import { intFlag, rateFlag, sizeFlag } from '../flags.js';
import { onInterrupt } from '../interrupt.js';
import type { Io } from '../io.js';
import { addTargetOptions, targetFrom, type TargetFlags } from '../real-target.js';

interface Flags extends TargetFlags {
  channels: string;
  rate: string;
  probe: string;
  migrations: string;
  memory: string;
  out: string;
  json?: boolean;
  quiet?: boolean;
}

export function registerCalibrate(program: Command, io: Io): void {
  const cmd = program
    .command('calibrate')
    .description("measure this host pair (link, page path, fixed costs of tiny migrations) and write the profile `migrate --profile` predicts from")
    .requiredOption('--out <file>', 'write the profile here (JSON; replaced atomically)')
    .option('--channels <n[,n...]>', 'channels in total, spread over the --to addresses; a list calibrates each', '4')
    .option('--rate <rate[,rate...]>', 'payload rate of the whole link (1Gbit/s), or none (unlimited); a list calibrates each', 'none')
    .option('--probe <size>', 'bytes of the link and page-path probes (a rate-limited link probes at most 1.5 s of it)', '256MiB')
    .option('--migrations <n>', 'tiny calibration migrations per link (their medians are the fixed costs)', '3')
    .option('--memory <size>', 'memory of each calibration guest (idle, no zero page; over a rate-limited link at most 0.5 s of it)', formatBytes(CALIBRATION_MEMORY).replace(' ', ''))
    .option('--quiet', 'no progress lines on stderr')
    .option('--json', 'print the profile as JSON instead of the summary');
  addTargetOptions(cmd);
  cmd.action(async (o: Flags) => {
    const target = targetFrom(o);
    const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);
    const channels = list(o.channels).map((c) => intFlag('--channels', c, 1, 32));
    const rates = list(o.rate).map((r) => (r === 'none' ? null : rateFlag('--rate', r)));
    if (channels.length === 0) throw new InputError({ source: '--channels', expected: 'a channel count, or a list such as 1,2,4', got: o.channels });
    if (rates.length === 0) throw new InputError({ source: '--rate', expected: 'a rate such as 1Gbit/s, none, or a list', got: o.rate });
    const targets = target.to?.length ?? 1;
    for (const c of channels) if (c % targets !== 0) throw new InputError({ source: '--channels', expected: `a multiple of the ${targets} --to address(es)`, got: c });
    const links: LinkSpec[] = [];
    for (const c of channels) for (const r of rates) if (!links.some((l) => l.channels === c && l.rate === r)) links.push({ channels: c, rate: r });
    const out = checkOut(o.out);
    const interrupt = onInterrupt(io, (sig) => `migbench calibrate: ${sig}: stopping (nothing is written)\n`, 'migbench calibrate: interrupted again; quitting at once\n');
    let profile: Profile;
    try {
      profile = await calibrate({
        links,
        ...target,
        probeBytes: sizeFlag('--probe', o.probe, 2 ** 20),
        migrations: intFlag('--migrations', o.migrations, 1, 20),
        memoryBytes: sizeFlag('--memory', o.memory, 2 ** 20),
        signal: interrupt.signal,
        log: (line) => {
          if (!o.quiet && !o.json) io.err(`migbench calibrate: ${line}\n`);
        },
      });
    } finally {
      interrupt.dispose();
    }
    const json = profileJson(profile);
    writeFileAtomic(out, json);
    io.out(o.json ? json : summary(profile, out));
  });
}

/** `--out`: a file (not a folder) in a folder that exists; checked before anything is measured. */
function checkOut(file: string): string {
  const path = resolve(file);
  const dir = dirname(path);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new InputError({ source: '--out', expected: 'a file in a folder that exists', got: file, detail: `no folder ${dir}` });
  if (existsSync(path) && statSync(path).isDirectory()) throw new InputError({ source: '--out', expected: 'a file, not a folder', got: file });
  return path;
}

function summary(p: Profile, out: string): string {
  const rate = (b: number | null) => (b === null ? '-' : formatRate(b));
  const dur = (s: number | null) => (s === null ? '-' : formatDuration(s));
  const rows = p.links.map((l) => [
    `${l.channels} ch ${l.rate_bps === null ? 'unlimited' : formatRate(l.rate_bps)}`,
    rate(l.link_goodput_bps),
    rate(l.page_path_goodput_bps),
    rate(l.memory_path_goodput_bps),
    rate(l.zero_scan_bps),
    dur(l.run_cost_s),
    dur(l.dest_page_cost_s),
    dur(l.control_rtt_s),
    dur(l.setup_time_s),
    dur(l.handoff_time_s),
    dur(l.resume_time_s),
    dur(l.cleanup_time_s),
  ]);
  const where = p.target.to ? p.target.to.join(', ') : `a local receiver on loopback${p.target.dest_reserve ? ' (memory reserved)' : ' (--no-reserve)'}`;
  const c = p.calibration;
  return (
    `calibrated ${p.source_host.hostname} (${p.source_host.cpu_model}, ${p.source_host.cores} cores) to ${where} in ${formatDuration(c.wall_s)}: ` +
    `probes of ${formatBytes(c.probe_bytes)}, ${c.migrations} migration(s) of a ${formatBytes(c.memory_bytes)} ${c.workload} guest per link\n\n` +
    table(['link', 'link probe', 'page path', 'memory path', 'zero scan', 'run cost', 'dest page', 'round trip', 'setup', 'handoff', 'resume', 'clean-up'], rows) +
    `\n${p.links.map((l) => `${l.channels} channel(s) ${linkLabel(l)}: ${l.migrations.map((m) => formatDuration(m.total_time_s)).join(', ')} per calibration migration`).join('\n')}\n` +

    `wrote ${out}\n`
  );
}
