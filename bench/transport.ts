// `npm run bench:transport`: loopback goodput of the multichannel TCP transport (CRC-32C on every frame,
// authenticated channels) for 1, 2, 4 and 8 channels, next to `iperf3 -P N` with the same stream count
// measured in the same run, printed as ratios, with the CPU both ends spend per GiB; plus TLS, CRC-worker
// and verified (SHA-256) memory-sink rows.
// CRCs are computed on the sender's main thread unless noted (one row offloads them to a worker thread).
// Writes reports/bench-transport.csv (temp file, then rename).
//
//   node dist/bench/transport.js [--size 4GiB] [--repeat 1] [--channels 1,2,4,8] [--out FILE]
//   node dist/bench/transport.js --quick     (the nightly's: 1 GiB, 3 repeats, 1 and 4 channels, plain rows only)

import { fork, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { SenderSession } from '../src/transport/tcp/sender.js';
import { PatternSource, sha256InWorker } from '../src/transport/tcp/source.js';
import { parseSize } from '../src/units/index.js';
import { toCsv } from '../src/report/csv.js';
import { writeFileAtomic } from '../src/report/files.js';

interface Row {
  config: string;
  channels: number;
  tls: boolean;
  sink: string;
  sha256: boolean;
  bytes: number;
  gbps: number;
  commitSeconds: number;
  status: string;
  iperf3: number | null;
  iperf3L1m: number | null;
  /** CPU seconds per GiB moved, both ends together (median of the repeats): independent of other load. */
  cpuPerGiB: number;
  iperf3CpuPerGiB: number | null;
  /** Best of the repeats: other load on the machine only ever slows a run down. */
  gbpsBest: number;
  iperf3Best: number | null;
}

const args = process.argv.slice(2);
const arg = (name: string, def: string) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : def;
};
const QUICK = args.includes('--quick');
const SIZE = parseSize(arg('--size', QUICK ? '1GiB' : '4GiB'));
const REPEAT = Math.max(1, Number(arg('--repeat', QUICK ? '3' : '1')));
const COUNTS = arg('--channels', QUICK ? '1,4' : '1,2,4,8').split(',').map(Number);
const OUT = arg('--out', fileURLToPath(new URL('../../reports/bench-transport.csv', import.meta.url)));
const KEY = randomBytes(32).toString('hex');
const receiverJs = fileURLToPath(new URL('./transport-receiver.js', import.meta.url));
const pattern = new PatternSource(1);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** CPU seconds (user + system, every thread) the receiver child has used so far. */
function childCpu(child: ReturnType<typeof fork>): Promise<number> {
  return new Promise((resolve) => {
    const on = (m: { type: string; usage?: NodeJS.CpuUsage }) => {
      if (m.type !== 'cpu' || !m.usage) return;
      child.off('message', on);
      resolve((m.usage.user + m.usage.system) / 1e6);
    };
    child.on('message', on);
    child.send({ type: 'cpu' });
  });
}

const ownCpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

async function migbench(channels: number, opts: Opts = {}) {
  const child = fork(receiverJs, [], {
    env: { ...process.env, MIGBENCH_KEY: KEY, MIGBENCH_BENCH_SINK: opts.sink ?? 'discard', MIGBENCH_BENCH_TLS: opts.tls ? '1' : '0' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.on('message', (m: { type: string; port?: number }) => m.type === 'ready' && resolve(m.port!));
      child.once('exit', (c) => reject(new Error(`receiver exited with ${c}`)));
    });
    const hashing = opts.sha ? sha256InWorker({ pattern }, SIZE) : Promise.resolve(null);
    const s = await SenderSession.open({ targets: [{ host: '127.0.0.1', port }], channelsPerTarget: channels, key: Buffer.from(KEY), tls: opts.tls ?? false, size: SIZE, crcThreads: opts.crcThreads ?? 0 });
    const block = 4 * 2 ** 20;
    const rx0 = await childCpu(child);
    const tx0 = ownCpu();
    for (let off = 0; off < SIZE; off += block) await s.write(off, pattern.view(off, Math.min(block, SIZE - off)));
    await s.flush();
    const cpuPerGiB = (ownCpu() - tx0 + (await childCpu(child)) - rx0) / (SIZE / 2 ** 30);
    const t = performance.now();
    const r = await s.commit(await hashing);
    const commitSeconds = (performance.now() - t) / 1000;
    const st = s.stats();
    s.close();
    return { gbps: (st.goodputBps * 8) / 1e9, status: r.status, commitSeconds, cpuPerGiB };
  } finally {
    child.send({ type: 'stop' });
    await new Promise((r) => child.once('exit', r));
  }
}

const hasIperf = spawnSync('iperf3', ['--version']).status === 0;
let iperfPort = 15201;

/** Goodput (Gbit/s) and CPU seconds per GiB of both ends (iperf3's own getrusage figures), or null. */
async function iperf3(streams: number, len?: string): Promise<{ gbps: number; cpuPerGiB: number } | null> {
  if (!hasIperf) return null;
  const port = iperfPort++;
  const server = spawn('iperf3', ['-s', '-1', '-p', String(port), '-B', '127.0.0.1'], { stdio: 'ignore' });
  try {
    await new Promise((r) => setTimeout(r, 300));
    const a = ['-c', '127.0.0.1', '-p', String(port), '-P', String(streams), '-n', String(SIZE), '-J', ...(len ? ['-l', len] : [])];
    const out = spawnSync('iperf3', a, { encoding: 'utf8', timeout: 120_000 });
    if (out.status !== 0) {
      process.stderr.write(`iperf3 ${a.join(' ')} failed: ${out.stderr || out.stdout.slice(0, 300)}\n`);
      return null;
    }
    const end = JSON.parse(out.stdout).end;
    // cpu_utilization_percent: each end's user + system time over the test's duration, in % of one CPU
    const cpu = ((end.cpu_utilization_percent.host_total + end.cpu_utilization_percent.remote_total) / 100) * end.sum_received.seconds;
    return { gbps: end.sum_received.bits_per_second / 1e9, cpuPerGiB: cpu / (SIZE / 2 ** 30) };
  } finally {
    server.kill();
  }
}

interface Opts {
  tls?: boolean;
  sink?: 'discard' | 'memory';
  sha?: boolean;
  crcThreads?: number;
}

const rows: Row[] = [];
async function measure(config: string, channels: number, opts: Opts, withIperf: boolean) {
  const runs = [];
  const ip: number[] = [];
  const ipL: number[] = [];
  const ipCpu: number[] = [];
  for (let i = 0; i < REPEAT; i++) {
    runs.push(await migbench(channels, opts));
    if (withIperf) {
      const a = await iperf3(channels);
      const b = await iperf3(channels, '1M');
      if (a !== null) {
        ip.push(a.gbps);
        ipCpu.push(a.cpuPerGiB);
      }
      if (b !== null) ipL.push(b.gbps);
    }
  }
  const row: Row = {
    config,
    channels,
    tls: opts.tls ?? false,
    sink: opts.sink ?? 'discard',
    sha256: opts.sha ?? false,
    bytes: SIZE,
    gbps: median(runs.map((r) => r.gbps)),
    commitSeconds: median(runs.map((r) => r.commitSeconds)),
    status: runs.map((r) => r.status).join('/'),
    iperf3: ip.length ? median(ip) : null,
    iperf3L1m: ipL.length ? median(ipL) : null,
    gbpsBest: Math.max(...runs.map((r) => r.gbps)),
    iperf3Best: ip.length ? Math.max(...ip) : null,
    cpuPerGiB: median(runs.map((r) => r.cpuPerGiB)),
    iperf3CpuPerGiB: ipCpu.length ? median(ipCpu) : null,
  };
  rows.push(row);
  const ratio = (x: number | null) => (x ? (row.gbps / x).toFixed(2) : 'n/a');
  process.stdout.write(
    `${config.padEnd(22)} ${String(channels).padStart(2)} ch  ${row.gbps.toFixed(2).padStart(6)} Gbit/s` +
      (withIperf ? `   iperf3 -P ${channels}: ${row.iperf3?.toFixed(2) ?? 'n/a'} (x${ratio(row.iperf3)})   iperf3 -P ${channels} -l 1M: ${row.iperf3L1m?.toFixed(2) ?? 'n/a'} (x${ratio(row.iperf3L1m)})` : '') +
      `   best: ${row.gbpsBest.toFixed(2)}${row.iperf3Best ? ` vs ${row.iperf3Best.toFixed(2)} (x${(row.gbpsBest / row.iperf3Best).toFixed(2)})` : ''}` +
      `   CPU ${row.cpuPerGiB.toFixed(2)} s/GiB${row.iperf3CpuPerGiB ? ` vs ${row.iperf3CpuPerGiB.toFixed(2)} (x${(row.cpuPerGiB / row.iperf3CpuPerGiB).toFixed(2)})` : ''}` +
      `   commit ${row.commitSeconds.toFixed(2)} s, ${row.status}\n`,
  );
}

process.stdout.write(`migbench transport benchmark: ${SIZE} bytes per run, loopback, CRC-32C on, ${REPEAT} run(s) per row (median, and best)\n`);
if (!hasIperf) process.stdout.write('note: iperf3 is not installed (apt-get install iperf3); iperf3 columns skipped\n');
for (const n of COUNTS) await measure('plain', n, {}, true);
if (!QUICK) {
  await measure('plain, CRC on 1 worker', 4, { crcThreads: 1 }, false);
  await measure('tls', 4, { tls: true }, false);
  await measure('memory+sha256', 4, { sink: 'memory', sha: true }, false);
}

const tls = rows.find((r) => r.config === 'tls');
const plain4 = rows.find((r) => r.config === 'plain' && r.channels === 4);
if (tls && plain4) process.stdout.write(`TLS cost at 4 channels: ${tls.gbps.toFixed(2)} vs ${plain4.gbps.toFixed(2)} Gbit/s (x${(tls.gbps / plain4.gbps).toFixed(2)})\n`);

const columns = ['config', 'channels', 'tls', 'sink', 'sha256', 'bytes', 'migbench_gbps', 'iperf3_gbps', 'ratio_vs_iperf3', 'iperf3_l1m_gbps', 'ratio_vs_iperf3_l1m', 'migbench_best_gbps', 'iperf3_best_gbps', 'migbench_cpu_s_per_gib', 'iperf3_cpu_s_per_gib', 'cpu_ratio_vs_iperf3', 'commit_s', 'status'];
const csvRows = rows.map((r) => ({
  config: r.config,
  channels: r.channels,
  tls: r.tls,
  sink: r.sink,
  sha256: r.sha256,
  bytes: r.bytes,
  migbench_gbps: r.gbps,
  iperf3_gbps: r.iperf3 ?? null,
  ratio_vs_iperf3: r.iperf3 ? r.gbps / r.iperf3 : null,
  iperf3_l1m_gbps: r.iperf3L1m ?? null,
  ratio_vs_iperf3_l1m: r.iperf3L1m ? r.gbps / r.iperf3L1m : null,
  migbench_best_gbps: r.gbpsBest,
  iperf3_best_gbps: r.iperf3Best ?? null,
  migbench_cpu_s_per_gib: r.cpuPerGiB,
  iperf3_cpu_s_per_gib: r.iperf3CpuPerGiB,
  cpu_ratio_vs_iperf3: r.iperf3CpuPerGiB ? r.cpuPerGiB / r.iperf3CpuPerGiB : null,
  commit_s: r.commitSeconds,
  status: r.status,
}));
writeFileAtomic(OUT, toCsv(columns, csvRows));
process.stdout.write(`wrote ${OUT}\n`);
