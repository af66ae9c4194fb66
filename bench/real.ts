// `npm run bench:real`: real migrations on loopback (512 MiB guest; idle, web, oltp; 1, 2 and 4 channels;
// the link limited to 1 Gbit/s and unlimited), each beside the simulator's prediction made before it from
// one calibration profile (--profile FILE, or every link of the matrix calibrated once at the start and
// written to the report as profile.json), then the headline case (a 1 GiB web guest, 4 channels, unlimited, 3 runs) checked against the
// targets. Writes reports/real/<UTC timestamp>/ (runs.csv, rounds.csv, summary.csv, report.html,
// meta.json, sim-runs.csv, comparison.csv); reports/real/latest points to the newest complete one.
//
//   npm run bench:real -- [--memory 512MiB] [--workloads idle,web,oltp] [--channels 1,2,4]
//                         [--rates 1Gbit/s,none] [--repeats 1] [--headline-repeats 3] [--name NAME]
//                         [--no-reserve]   (the local destination faults its memory in as data arrives)
//                         [--profile FILE] (predict from this profile: migbench calibrate --channels 1,2,4
//                                           --rate 1Gbit/s,none --out FILE; default: calibrate at the start)
//                         [--calibration-migrations 3] [--seed 1] [--reports DIR]
//                         [--evacuations 3x2,6x3] [--evacuation-memory 256MiB] [--evacuation-workload web]
//                                          (drains of N real guests M at a time, each beside its prediction)
//                         [--to ADDR:PORT,... --key-file K [--bind ADDR,...]]  (a migrate-receiver elsewhere)
//   npm run bench:real -- --quick    (the nightly's short preset: 512 MiB web and oltp, 4 channels,
//                                     unlimited, then one headline run; explicit flags override it)
//   npm run bench:real -- --netns [--netns-rates 1Gbit/s,2.5Gbit/s]   (root: over two tbf-shaped veth links
//                                     between network namespaces, per rate; the preset: 512 MiB idle, web and
//                                     oltp, 2 and 4 channels, unlimited (the kernel shapes), drains 3x2, 4x2,
//                                     6x3 of 256 MiB web guests, no headline; src/bench/real-netns.ts)

import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DRAIN_COLUMNS, DRAIN_VM_COLUMNS, parseDrains, runDrain } from '../src/bench/real-evacuations.js';
import { runNetnsBench } from '../src/bench/real-netns.js';
import { formatEndpoint, parseAddresses, parseEndpoints } from '../src/transport/tcp/address.js';
import { loadKey } from '../src/transport/tcp/auth.js';
import { packageRoot } from '../src/bench/paths.js';
import { hostname } from 'node:os';
import { COMPARISON_COLUMNS, comparisonRow, planLinks, planReal, simBenchRun, type RealPlanned } from '../src/bench/real.js';
import type { BenchRun } from '../src/bench/runner.js';
import type { Row } from '../src/bench/columns.js';
import { migrateReal } from '../src/drivers/real/driver.js';
import { calibrate } from '../src/drivers/real/calibrate.js';
import { predictBefore, scorePrediction } from '../src/drivers/real/predict.js';
import { linkLabel, loadProfile, matchProfile, profileJson, type Profile } from '../src/drivers/real/profile.js';
import { exitCodeFor, MigbenchError } from '../src/errors.js';
import { CHANNEL_WINDOW, CHUNK_SIZE } from '../src/transport/defaults.js';
import { benchRunsCsv } from '../src/report/bench-csv.js';
import { checkReportName, defaultReportName, writeBenchReport } from '../src/report/bench-report.js';
import { toCsv } from '../src/report/csv.js';
import { writeFileAtomic } from '../src/report/files.js';
import { resolveScenario } from '../src/scenario.js';
import { formatBytes, formatDuration, formatRate, parseRate, parseSize } from '../src/units/index.js';

const args = process.argv.slice(2);
const arg = (name: string, def: string) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : def;
};
const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);

if (args.includes('--netns')) {
  // The same bench again, inside a namespace, over shaped links (its preset, then the caller's flags).
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--netns') continue;
    if (args[i] === '--netns-rates') {
      i++;
      continue;
    }
    rest.push(args[i]!);
  }
  const preset = ['--workloads', 'idle,web,oltp', '--channels', '2,4', '--rates', 'none', '--headline-repeats', '0', '--evacuations', '3x2,4x2,6x3'];
  const code = await runNetnsBench({
    rates: list(arg('--netns-rates', '1Gbit/s,2.5Gbit/s')).map((r) => parseRate(r)),
    cli: join(packageRoot(), 'bin', 'migbench.js'),
    script: fileURLToPath(import.meta.url),
    args: [...rest, ...preset], // the first of a flag wins: the caller's over the preset
    out: (s) => void process.stdout.write(s),
    err: (s) => void process.stderr.write(s),
  });
  process.exit(code);
}

const quick = args.includes('--quick');
// A destination elsewhere (a migrate-receiver; --netns passes the one it started in its namespace).
const to = args.includes('--to') ? parseEndpoints(arg('--to', ''), '--to') : undefined;
const key = to ? loadKey({ ...(args.includes('--key-file') ? { keyFile: arg('--key-file', '') } : {}), env: process.env }) : undefined;
const bind = args.includes('--bind') ? parseAddresses(arg('--bind', ''), '--bind') : undefined;
if (to && !key) {
  process.stderr.write('bench:real: --to needs --key-file (or MIGBENCH_KEY)\n');
  process.exit(2);
}
const target = { ...(to ? { to, key: key! } : {}), ...(bind ? { bind } : {}) };
const linkName = arg('--link-name', to ? 'remote' : 'loopback');
const linkDescription = arg('--link-description', to ? `a migrate-receiver at ${to.map(formatEndpoint).join(', ')}` : 'loopback');
const drains = parseDrains(arg('--evacuations', 'none'));
const memory = parseSize(arg('--memory', '512MiB'));
const matrix = {
  memory,
  workloads: list(arg('--workloads', quick ? 'web,oltp' : 'idle,web,oltp')),
  channels: list(arg('--channels', quick ? '4' : '1,2,4')).map(Number),
  rates: list(arg('--rates', quick ? 'none' : '1Gbit/s,none')).map((r) => (r === 'none' ? null : parseRate(r))),
  repeats: Number(arg('--repeats', '1')),
  seed: Number(arg('--seed', '1')),
  link: linkName,
  description: `real migrations over ${linkDescription} (npm run bench:real)`,
};
const headlineRepeats = Number(arg('--headline-repeats', quick ? '1' : '3'));
const root = resolve(arg('--reports', join(packageRoot(), 'reports', 'real')));
const name = args.includes('--name') ? checkReportName(arg('--name', '')) : defaultReportName(root);

const main = planReal(matrix);
const head = planReal({ memory: 2 ** 30, workloads: ['web'], channels: [4], rates: [null], repeats: headlineRepeats, seed: matrix.seed, link: linkName }, 'real-headline');
// One plan for the report: the matrix, then the headline runs (indexes after the matrix's).
const offset = main.plan.runs.length;
const headRuns = head.runs.map((r) => ({ ...r, index: r.index + offset, scenario: { ...r.scenario, index: r.scenario.index + main.plan.scenarios.length } }));
const plan = { ...main.plan, scenarios: [...main.plan.scenarios, ...headRuns.map((r) => r.scenario).filter((s, i, a) => a.findIndex((x) => x.key === s.key) === i)], runs: [...main.plan.runs, ...headRuns] };
plan.totalScenarios = plan.scenarios.length;

// The profile every prediction comes from: given, or calibrated now (each link of the plan, before any run).
const reserve = !args.includes('--no-reserve');
const dir = join(root, name);
const drainChannels = Number(arg('--evacuation-channels', String(Math.max(...matrix.channels))));
const links = planLinks([...(plan.runs as RealPlanned[]), ...(drains.length > 0 ? [{ channels: drainChannels, rate: null } as RealPlanned] : [])]);
let profile: Profile;
let profilePath: string;
let from: 'profile' | 'calibration';
try {
  if (args.includes('--profile')) {
    profilePath = resolve(arg('--profile', ''));
    profile = loadProfile(profilePath);
    from = 'profile';
    const warned = new Set<string>();
    for (const l of links) {
      const { warnings } = matchProfile(profile, { to: to ? to.map(formatEndpoint) : null, bind: bind ?? null, destReserve: to ? null : reserve, chunkBytes: CHUNK_SIZE, windowBytes: CHANNEL_WINDOW, channels: l.channels, rate: l.rate }, profilePath, hostname());
      for (const w of warnings) if (!warned.has(w)) process.stderr.write(`bench:real: warning: --profile ${profilePath}: ${w}\n`), warned.add(w);
    }
  } else {
    const n = Number(arg('--calibration-migrations', '3'));
    process.stdout.write(`bench:real: calibrating ${links.length} link(s) first (${links.map((l) => `${l.channels} channel(s) ${linkLabel(l)}`).join('; ')}; ${n} tiny migrations each), not counted in any run\n`);
    profile = await calibrate({ links, ...target, destReserve: reserve, migrations: n, log: (line) => void (line.startsWith('calibrating') && process.stderr.write(`bench:real: ${line}\n`)) });
    profilePath = join(dir, 'profile.json');
    writeFileAtomic(profilePath, profileJson(profile));
    from = 'calibration';
  }
} catch (e) {
  process.stderr.write(`bench:real: ${(e as Error).message}\n`);
  process.exit(e instanceof MigbenchError ? exitCodeFor(e) : 1);
}
process.stdout.write(`bench:real: every prediction from ${from === 'profile' ? 'profile' : 'the calibration written to'} ${profilePath} (made ${profile.created_at}), before its run\n`);

let stop = false;
process.on('SIGINT', () => {
  if (stop) process.exit(130);
  stop = true;
  process.stderr.write('\nbench:real: interrupted; finishing the run in flight, then writing what finished\n');
});

const real: BenchRun[] = [];
const sims: BenchRun[] = [];
const comparison: Row[] = [];
const t0 = performance.now();
const startedAt = new Date();
process.stdout.write(`bench:real: ${plan.runs.length} real migrations over ${linkDescription} (${matrix.workloads.join(', ')} x ${matrix.channels.join('/')} channels x ${matrix.rates.map((r) => (r === null ? 'unlimited' : formatRate(r))).join(', ')}; then ${headlineRepeats} x 1 GiB web), each beside the simulator's prediction made before it from the profile\n\n`);
const header = `${'run'.padEnd(52)} ${'total s'.padStart(8)} ${'sim s'.padStart(7)} ${'ratio'.padStart(6)} ${'down ms'.padStart(8)} ${'sim ms'.padStart(7)} ${'ratio'.padStart(6)}  rounds  link probe  page path   verified\n`;
process.stdout.write(header);
for (const p of plan.runs as RealPlanned[]) {
  if (stop) break;
  const input = { ...p.scenario.input, seed: String(p.seed) };
  const scenario = resolveScenario(input);
  const link = profile.links.find((l) => l.channels === p.channels && l.rate_bps === p.rate)!;
  const planned = predictBefore(input, { profile, link, from, path: profilePath });
  const t = performance.now();
  const run = await migrateReal({ scenario, channels: p.channels, scratch: true, destReserve: reserve, ...target, ...(p.rate !== null ? { rate: p.rate } : {}), probeBytes: p.rate === null ? 256 * 2 ** 20 : Math.min(256 * 2 ** 20, Math.round(p.rate * 1.5)) });
  const wallMs = performance.now() - t;
  const pred = planned ? scorePrediction(input, planned, run, link) : null;
  real.push({ planned: p, result: run.result, wallMs });
  if (planned) sims.push(simBenchRun(p, planned.record));
  const row = comparisonRow(p, run, pred);
  comparison.push(row);
  const f = (x: unknown, d: number) => (typeof x === 'number' ? x.toFixed(d) : 'n/a');
  process.stdout.write(
    `${p.runId.padEnd(52)} ${f(row['measured_total_time_s'], 3).padStart(8)} ${f(row['predicted_total_time_s'], 3).padStart(7)} ${f(row['total_time_ratio'], 2).padStart(6)} ` +
      `${f(row['measured_downtime_ms'], 1).padStart(8)} ${f(row['predicted_downtime_ms'], 1).padStart(7)} ${f(row['downtime_ratio'], 2).padStart(6)}  ` +
      `${String(run.result.precopy_rounds).padStart(2)}/${String(pred?.sim.precopy_rounds ?? '?').padEnd(3)} ${(run.measured.link_goodput_bps ? formatRate(run.measured.link_goodput_bps) : 'n/a').padEnd(11)} ${(run.measured.page_path_goodput_bps ? formatRate(run.measured.page_path_goodput_bps) : 'n/a').padEnd(11)} ${run.result.verified}\n`,
  );
}

/** What the kernel counted during a drain, for a person (drains.csv has the figures). */
function kernelNote(row: Row): string {
  if (row['sent_bps'] === null) return '-';
  const pct = (x: unknown) => `${Math.round((x as number) * 100)}%`;
  const busiest = row['busiest_link'] === null ? 'no link of known capacity' : `${row['busiest_link']} ${pct(row['busiest_link_mean_utilisation'])}, ${pct(row['busiest_link_peak_utilisation'])}`;
  return `${((row['sent_bps'] as number) / 1e9).toFixed(2)} Gbit/s, ${busiest}`;
}

// The drains: several real guests at once into the same destination, each beside its prediction.
const drainRows: Row[] = [];
const drainVms: Row[] = [];
if (drains.length > 0 && !stop) {
  const evMemory = parseSize(arg('--evacuation-memory', '256MiB'));
  const evWorkload = arg('--evacuation-workload', 'web');
  const link = profile.links.find((l) => l.channels === drainChannels && l.rate_bps === null)!;
  process.stdout.write(`\nbench:real: ${drains.length} drain(s) of ${formatBytes(evMemory)} ${evWorkload} guests over ${linkDescription}, ${drainChannels} channels each, every one beside the simulated drain predicted before it\n`);
  process.stdout.write(`${'drain'.padEnd(8)} ${'makespan s'.padStart(10)} ${'sim s'.padStart(7)} ${'ratio'.padStart(6)}  verified  kernel: sent, busiest link (mean, peak)\n`);
  for (const c of drains) {
    if (stop) break;
    const { row, vms } = await runDrain(c, { memory: evMemory, workload: evWorkload, seed: matrix.seed, channels: drainChannels, network: `${linkName}-${drainChannels}ch`, profile, link, from, profilePath, ...target, reserve });
    drainRows.push(row);
    drainVms.push(...vms);
    process.stdout.write(`${String(row['drain']).padEnd(8)} ${(row['measured_makespan_s'] as number).toFixed(3).padStart(10)} ${(row['predicted_makespan_s'] as number).toFixed(3).padStart(7)} ${(row['makespan_ratio'] as number).toFixed(2).padStart(6)}  ${`${row['verified_vms']} of ${row['vms']}`.padEnd(8)}  ${kernelNote(row)}\n`);
  }
}

const outcome = { runs: real, interrupted: stop, failure: null, wallS: (performance.now() - t0) / 1000 };
const written = writeBenchReport({ root, name, plan, matrix: main.matrix, matrixFile: 'bench/real.ts', outcome, threads: 1, startedAt, packageRoot: packageRoot() });
writeFileAtomic(join(written.dir, 'sim-runs.csv'), benchRunsCsv(sims, { reportId: written.meta.report_id }));
writeFileAtomic(join(written.dir, 'comparison.csv'), toCsv(COMPARISON_COLUMNS, comparison));
if (drainRows.length > 0) {
  writeFileAtomic(join(written.dir, 'drains.csv'), toCsv(DRAIN_COLUMNS, drainRows));
  writeFileAtomic(join(written.dir, 'drain-vms.csv'), toCsv(DRAIN_VM_COLUMNS, drainVms));
}

// The headline targets, on the 1 GiB web runs.
const hl = comparison.filter((r) => String(r['scenario']).includes('/web/1GiB/'));
if (hl.length > 0) {
  const med = (k: string) => {
    const xs = hl.map((r) => r[k]).filter((x): x is number => typeof x === 'number').sort((a, b) => a - b);
    return xs.length ? xs[Math.floor((xs.length - 1) / 2)]! : NaN;
  };
  const down = med('measured_downtime_ms');
  const bound = med('total_vs_goodput_bound');
  const ratio = med('total_time_ratio');
  const mark = (ok: boolean) => (ok ? 'met' : 'NOT MET');
  process.stdout.write(
    `\n1 GiB web guest, 4 channels, loopback (median of ${hl.length}; every run: downtime ${hl.map((r) => r['measured_downtime_ms']).join(', ')} ms):\n` +
      `  downtime ${down.toFixed(1)} ms (target <= 300 ms): ${mark(down <= 300)}\n` +
      `  total time / (guest size / link goodput) = ${bound.toFixed(2)} (target <= 1.3): ${mark(bound <= 1.3)}; total ${formatDuration(med('measured_total_time_s'))}, goodput ${formatRate(med('link_goodput_bps') / 8)}\n` +
      `  simulator total time: measured / predicted = ${ratio.toFixed(2)}, predicted within ${(Math.abs(1 / ratio - 1) * 100).toFixed(1)}% of the measured (target <= 15%): ${mark(Math.abs(1 / ratio - 1) <= 0.15)}\n` +
      `  (post-hoc diagnostic, not a prediction: with round 0's own memory goodput, ${formatRate(med('round0_goodput_bps') / 8)}, as the link rate instead of the profile's: measured / predicted = ${med('total_time_ratio_r0').toFixed(2)})\n`,
  );
}
const drainUnverified = drainRows.reduce((t, r) => t + (r['vms'] as number) - (r['verified_vms'] as number), 0);
const unverified = real.filter((r) => r.result.verified !== true).length + drainUnverified;
const r0 = comparison.map((r) => r['total_time_ratio']).filter((x): x is number => typeof x === 'number');
const within = (rows: Row[], key: string) => rows.filter((r) => typeof r[key] === 'number' && Math.abs(1 / (r[key] as number) - 1) <= 0.15).length;
const limited = comparison.filter((r) => r['rate_limit_bps'] !== null);
const unlimited = comparison.filter((r) => r['rate_limit_bps'] === null);
process.stdout.write(
  `\nsimulator total time within 15% of the measured: ${within(limited, 'total_time_ratio')} of ${limited.length} rate-limited runs, ${within(unlimited, 'total_time_ratio')} of ${unlimited.length} unlimited ones` +
    ` (post hoc, with round 0's goodput as the rate: ${within(limited, 'total_time_ratio_r0')} and ${within(unlimited, 'total_time_ratio_r0')}); ${r0.length} compared\n`,
);
if (drainRows.length > 0) {
  const ratios = drainRows.map((r) => r['makespan_ratio'] as number);
  process.stdout.write(
    `simulated drains' makespan within 15% of the measured: ${ratios.filter((x) => Math.abs(1 / x - 1) <= 0.15).length} of ${ratios.length} (measured / predicted ${ratios.map((x) => x.toFixed(2)).join(', ')}); ${drainVms.length - drainUnverified} of ${drainVms.length} guests verified\n`,
  );
}
process.stdout.write(`\n${real.length} runs${drainRows.length > 0 ? ` and ${drainRows.length} drains` : ''} (${unverified === 0 ? 'all verified' : `${unverified} NOT verified`}) in ${outcome.wallS.toFixed(1)} s; reports in ${written.dir}/ (runs.csv, sim-runs.csv, comparison.csv, ...); predictions from ${profilePath}\n`);
if (unverified > 0 || stop) process.exitCode = stop ? 130 : 1;
