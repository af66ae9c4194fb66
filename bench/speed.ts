// `npm run bench:speed`: how fast the page-level simulator is. Prints figures; asserts nothing.
//   1. a 64 GiB VM running oltp over 10g (goal: <= 1 s wall), and a shared-nothing move of an 8 GiB VM
//      with a 100 GiB disk (goal: <= 1 s wall)
//   2. a 1 TiB VM running oltp over 10g in a child process (goal: <= 30 s wall, <= 1.5 GiB peak RSS)
//   3. the mean cost of one 8 GiB simulation over a sweep of 100 scenarios (goal: <= 10 ms; SimGrid's
//      fluid model takes about 30 ms per run on this machine, as reported in issue 2 -- not measured here)
//   4. evacuations (issue 11), in this process: draining a host of 64 VMs x 16 GiB running oltp over 2x10g
//      with smb, 8 at a time (goal: <= 1 s wall), and a rolling update of a 16-node cluster running 1,000
//      VMs of 8 GiB (web, 10g, smb, Hyper-V's default limits; goal: <= 30 s wall)
// Writes reports/speed.csv (atomically).

import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { simulate } from '../src/drivers/sim/index.js';
import { simulateEvacuation } from '../src/evacuation/simulate.js';
import { evacuationSpec, type EvacuationInput } from '../src/evacuation/spec.js';
import { toCsv } from '../src/report/csv.js';
import { writeFileAtomic } from '../src/report/files.js';
import { resolveScenario, type ScenarioInput } from '../src/scenario.js';
import { formatBytes, formatDuration } from '../src/units/index.js';

interface Row {
  case: string;
  runs: number;
  wall_ms: number;
  ms_per_run: number;
  peak_rss_bytes: number | '';
  goal: string;
  /** Simulated seconds: the (first) run's total time, or an evacuation's makespan; empty for the sweep. */
  simulated_s: number | null;
}

/** One evacuation, timed in this process (the spec is built outside the timing). */
function timeEvacuation(base: ScenarioInput, o: EvacuationInput): { ms: number; makespan: number; moves: number } {
  const spec = evacuationSpec(o, base, resolveScenario(base).memoryBytes);
  const t = performance.now();
  const r = simulateEvacuation(spec);
  return { ms: performance.now() - t, makespan: r.makespan_s, moves: r.migrations };
}

function timeOne(input: ScenarioInput): { ms: number; total: number } {
  const t = performance.now();
  const r = simulate(resolveScenario(input));
  return { ms: performance.now() - t, total: r.total_time_s };
}

/** Child mode: run one scenario and print wall ms and peak RSS as JSON. */
if (process.argv[2] === '--child') {
  const input = JSON.parse(process.argv[3]!) as ScenarioInput;
  const { ms, total } = timeOne(input);
  process.stdout.write(JSON.stringify({ ms, total, maxRss: process.resourceUsage().maxRSS * 1024 }) + '\n');
  process.exit(0);
}

const rows: Row[] = [];
const say = (s: string): void => void process.stdout.write(s + '\n');
say(`migbench bench:speed on ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}`);

// 1. 64 GiB oltp over 10g: best of 3 after one warm-up.
{
  const input: ScenarioInput = { memory: '64GiB', workload: 'oltp', network: '10g', transport: 'tcp' };
  timeOne({ ...input, memory: '8GiB' });
  const times = [0, 1, 2].map(() => timeOne(input));
  const best = Math.min(...times.map((t) => t.ms));
  say(`64 GiB oltp over 10g (tcp): ${best.toFixed(0)} ms wall (best of 3; simulated ${formatDuration(times[0]!.total)}) -- goal <= 1000 ms`);
  rows.push({ case: '64GiB-oltp-10g-tcp', runs: 3, wall_ms: best, ms_per_run: best, peak_rss_bytes: '', goal: '<= 1000 ms', simulated_s: times[0]!.total });
}

// 1b. Shared-nothing: 8 GiB of memory and a 100 GiB disk copied while mirrored (issue 3's figure).
{
  const input: ScenarioInput = { mode: 'shared-nothing', memory: '8GiB', disk: '100GiB', workload: 'oltp', network: '10g' };
  timeOne(input);
  const times = [0, 1, 2].map(() => timeOne(input));
  const best = Math.min(...times.map((t) => t.ms));
  say(`shared-nothing 8 GiB + 100 GiB disk, oltp over 10g: ${best.toFixed(0)} ms wall (best of 3; simulated ${formatDuration(times[0]!.total)}) -- goal <= 1000 ms`);
  rows.push({ case: 'shared-nothing-8GiB-100GiB-oltp-10g', runs: 3, wall_ms: best, ms_per_run: best, peak_rss_bytes: '', goal: '<= 1000 ms', simulated_s: times[0]!.total });
}

// 2. 1 TiB oltp over 10g, in a child process so its peak RSS is its own.
{
  const self = fileURLToPath(import.meta.url);
  const input: ScenarioInput = { memory: '1TiB', workload: 'oltp', network: '10g', transport: 'tcp' };
  const t = performance.now();
  const out = execFileSync(process.execPath, [self, '--child', JSON.stringify(input)], { encoding: 'utf8', maxBuffer: 1 << 20 });
  const wall = performance.now() - t;
  const child = JSON.parse(out.trim()) as { ms: number; total: number; maxRss: number };
  say(
    `1 TiB oltp over 10g (tcp): ${(child.ms / 1000).toFixed(2)} s in the simulator, ${(wall / 1000).toFixed(2)} s with process start; peak RSS ${formatBytes(child.maxRss)} (simulated ${formatDuration(child.total)}) -- goal <= 30 s, <= 1.5 GiB`,
  );
  rows.push({ case: '1TiB-oltp-10g-tcp', runs: 1, wall_ms: child.ms, ms_per_run: child.ms, peak_rss_bytes: child.maxRss, goal: '<= 30000 ms, <= 1.5 GiB RSS', simulated_s: child.total });
}

// 3. A sweep of 100 different 8 GiB scenarios.
{
  const workloads = ['idle', 'web', 'oltp', 'vdi', 'churn'];
  const networks = ['1g', '2x1g', '2x1g-team', '10g', '2x10g', '10g-rdma', '2x10g-rdma'];
  const transports = ['tcp', 'compression', 'smb'];
  const policies = ['hyperv', 'qemu', 'xen'];
  const sweep: ScenarioInput[] = [];
  for (let i = 0; sweep.length < 100; i++) {
    sweep.push({
      memory: '8GiB',
      workload: workloads[i % workloads.length]!,
      network: networks[Math.floor(i / 5) % networks.length]!,
      transport: transports[i % 3]!,
      policy: policies[Math.floor(i / 7) % 3]!,
      seed: i,
    });
  }
  for (const s of sweep.slice(0, 10)) timeOne(s); // warm-up
  const t = performance.now();
  for (const s of sweep) timeOne(s);
  const wall = performance.now() - t;
  say(`sweep of 100 x 8 GiB scenarios: ${(wall / 100).toFixed(2)} ms per simulation (${wall.toFixed(0)} ms total) -- goal <= 10 ms; SimGrid fluid model ~30 ms (reported, not measured here)`);
  rows.push({ case: 'sweep-100x8GiB', runs: 100, wall_ms: wall, ms_per_run: wall / 100, peak_rss_bytes: '', goal: '<= 10 ms per run', simulated_s: null });
}

// 4. Evacuations (issue 11), in this process. A host of 64 VMs x 16 GiB (oltp) drained over 2x10g with
// smb, 8 live migrations at once: best of 3 after a small warm-up drain.
{
  const base: ScenarioInput = { memory: '16GiB', workload: 'oltp', network: '2x10g', transport: 'smb' };
  timeEvacuation({ ...base, memory: '1GiB' }, { vms: 8, maxLive: 8 });
  const times = [0, 1, 2].map(() => timeEvacuation(base, { vms: 64, maxLive: 8 }));
  const best = Math.min(...times.map((t) => t.ms));
  say(`evacuation of 64 VMs x 16 GiB, oltp over 2x10g (smb), 8 at a time: ${best.toFixed(0)} ms wall (best of 3; simulated makespan ${formatDuration(times[0]!.makespan)}) -- goal <= 1000 ms`);
  rows.push({ case: 'evacuate-64x16GiB-oltp-2x10g-smb-live8', runs: 3, wall_ms: best, ms_per_run: best, peak_rss_bytes: '', goal: '<= 1000 ms', simulated_s: times[0]!.makespan });
}

// A rolling update (cluster-aware updating) of 16 nodes running 1,000 VMs of 8 GiB (web), 10g with smb,
// Hyper-V's default limits (2 live and 2 storage migrations at once per host): each node drains to the
// others in turn. Best of 2.
{
  const base: ScenarioInput = { memory: '8GiB', workload: 'web', network: '10g', transport: 'smb' };
  const times = [0, 1].map(() => timeEvacuation(base, { vms: 1000, rolling: 16 }));
  const best = Math.min(...times.map((t) => t.ms));
  say(
    `rolling update of 16 nodes, 1,000 VMs x 8 GiB, web over 10g (smb), default limits: ${(best / 1000).toFixed(2)} s wall (best of 2; ${times[0]!.moves} migrations, simulated makespan ${formatDuration(times[0]!.makespan)}) -- goal <= 30 s`,
  );
  rows.push({ case: 'rolling-16nodes-1000x8GiB-web-10g-smb', runs: 2, wall_ms: best, ms_per_run: best, peak_rss_bytes: '', goal: '<= 30000 ms', simulated_s: times[0]!.makespan });
}

writeFileAtomic('reports/speed.csv', toCsv(Object.keys(rows[0]!), rows.map((r) => ({ ...r, peak_rss_bytes: r.peak_rss_bytes === '' ? null : r.peak_rss_bytes }))));
say('wrote reports/speed.csv');
