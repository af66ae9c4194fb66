// An evacuation with the real engine: every VM of the host is a running guest (a worker thread dirtying its
// memory, as `migbench migrate` runs one), all started (and their link probed) before the drain begins; then at most `maxLive` of
// them move at once to one destination (`migbench migrate-receiver`: one on loopback, or `--to`), the rest
// queue in order, each moving when a slot opens. Every move is a real migration over its own striped TCP
// channels, so the moves share the link as the kernel shares it between their connections; each is verified
// byte for byte after its timed part (the verification runs beside the next moves but holds no slot).
//
// The result has the simulated evacuation's shape (EvacuationResult: makespan, VM rows with start, end,
// total time, downtime and `verified`) so the two compare field by field. `links` and `timeline` are what
// the kernel counted on this host's interfaces during the drain (netdev.ts; empty where it has no counters).

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { InputError, InterruptedError } from '../errors.js';
import { LocalReceiver } from '../drivers/real/local-receiver.js';
import { migrateReal } from '../drivers/real/driver.js';
import type { RealMeasured, RealRun } from '../drivers/real/options.js';
import { deriveSeed } from '../random/index.js';
import { resolveScenario, type Scenario } from '../scenario.js';
import type { Endpoint } from '../transport/tcp/address.js';
import { formatBytes } from '../units/index.js';
import { orderVms, vmScenarioInput } from './plan.js';
import { NetdevSampler } from './netdev.js';
import type { EvacuatedVm, EvacuationResult, EvacuationSpec } from './types.js';
import type { VmEntry } from './vm-fields.js';

export interface RealEvacuationOptions {
  spec: EvacuationSpec;
  /** Channels per migration (default 4). */
  channels?: number;
  /** Payload rate of each migration's channels together, bytes/s (token buckets; none: unlimited). */
  rate?: number;
  /** The destination (`migrate-receiver` there); none: one started on loopback for the evacuation. */
  to?: Endpoint[];
  key?: Buffer;
  bind?: string[];
  /** Local receiver: migrations it takes at once (default: max-live). */
  maxIncoming?: number;
  /** Local receiver: keep every VM's memory zeroed and faulted in before the drain (default true). */
  reserve?: boolean;
  /** Measurements only (benches): the destination removes each VM's files once verified (RealOptions.scratch). */
  scratch?: boolean;
  /** Reads this host's interface counters during the drain (default: /sys/class/net; null: none). */
  netdev?: NetdevSampler | null;
  signal?: AbortSignal;
  log?: (line: string) => void;
}

/** What each real move measured beside its row (the `real` object of `migrate --json`, per VM). */
export interface RealEvacuation {
  result: EvacuationResult & { engine: 'real' };
  /** Per VM, in the rows' order. */
  measured: { name: string; measured: RealMeasured }[];
  /** Seconds to start every guest before the drain (not part of the makespan). */
  guests_start_s: number;
}

/** The real engine's limits on an evacuation (each names its flag). */
export function checkRealEvacuation(o: RealEvacuationOptions): Scenario[] {
  const { spec } = o;
  if (spec.rolling !== null) throw new InputError({ source: '--rolling', expected: 'no --rolling with --engine real (one host drains to one destination)', got: spec.rolling });
  if (spec.destinations !== 1) throw new InputError({ source: '--destinations', expected: '1 with --engine real (one destination: the local receiver or --to)', got: spec.destinations });
  if (spec.faults.length > 0) throw new InputError({ source: '--fault', expected: 'no drain faults with --engine real (the simulator strikes them; `migbench migrate --fault` injects real ones)', got: spec.faults.map((f) => f.text).join(', ') });
  const scenarios = spec.vms.map((vm) => vmScenario(spec, vm));
  for (const [i, s] of scenarios.entries()) {
    const vm = spec.vms[i]!;
    if (!vm.running) throw new InputError({ source: vm.origin, expected: 'running VMs only with --engine real (an Off VM moves by configuration: simulate it)', got: vm.name });
    if (s.mode !== 'cluster' && s.mode !== 'shared-nothing') throw new InputError({ source: vm.origin, expected: 'mode cluster or shared-nothing for the real engine', got: s.mode });
  }
  // Every guest runs for the whole drain, and a local destination holds a copy of those moving (all of
  // them by the end): never more than this host has.
  const all = spec.vms.reduce((t, v) => t + v.memoryBytes, 0);
  const need = o.to ? all : 2 * all;
  if (need > 0.75 * totalmem()) {
    throw new InputError({
      source: spec.vms.length > 0 && spec.vms[0]!.origin.startsWith('--vms') ? '--vms' : '--inventory',
      expected: `VMs whose memory${o.to ? '' : ' (twice: the guests and their local destination)'} fits in 75% of this host's ${formatBytes(totalmem())}`,
      got: formatBytes(need),
    });
  }
  return scenarios;
}

function vmScenario(spec: EvacuationSpec, vm: VmEntry): Scenario {
  let s: Scenario;
  try {
    s = resolveScenario(vmScenarioInput(spec.base, vm));
  } catch (e) {
    if (e instanceof InputError) throw new InputError({ source: vm.origin, expected: e.expected, got: e.got, detail: e.message });
    throw e;
  }
  // The same seed as the simulated evacuation gives this VM (its guest writes the same pattern).
  return { ...s, seed: deriveSeed(resolveScenario(spec.base).seed, 'vm', vm.name) };
}

export async function evacuateReal(o: RealEvacuationOptions): Promise<RealEvacuation> {
  const scenarios = checkRealEvacuation(o);
  const { spec } = o;
  const log = o.log ?? (() => {});
  const byName = new Map(spec.vms.map((v, i) => [v.name, scenarios[i]!]));
  const queue = orderVms(spec.vms, spec.order);
  let receiver: LocalReceiver | null = null;
  let dir: string | null = null;
  let netdev: NetdevSampler | null = null;
  const key = o.key ?? Buffer.from(randomBytes(32).toString('hex'));
  try {
    let to = o.to;
    if (!to) {
      dir = mkdtempSync(join(tmpdir(), 'migbench-evacuate-'));
      // A destination with room for every VM, kept zeroed and faulted in (as `migrate`'s own receiver
      // reserves its guest's memory): first-touch page faults would otherwise slow each move.
      const room = o.reserve === false ? 0 : spec.vms.reduce((t, v) => t + v.memoryBytes, 0);
      receiver = await LocalReceiver.spawn(dir, Buffer.from(key), room, false, Math.min(64, o.maxIncoming ?? spec.maxLive));
      to = [receiver.endpoint];
    }
    // Each guest starts, then waits at its gate; the drain begins once every guest runs. A guest that
    // cannot start, or a Ctrl-C, aborts `stop`: the gates open and the waiting moves end without moving.
    const stop = new AbortController();
    const forward = () => stop.abort();
    o.signal?.addEventListener('abort', forward, { once: true });
    if (o.signal?.aborted) stop.abort();
    const gates = new Map<string, () => void>();
    const started: Promise<void>[] = [];
    const rows = new Map<string, { vm: VmEntry; sn: boolean; start: number; end: number; run: RealRun | null; error: unknown }>();
    let t0 = 0;
    const use = { live: 0, storage: 0 };
    let peakLive = 0;
    let peakStorage = 0;
    const tStart = performance.now();
    let ended = 0;
    const settle = () => {
      if (++ended === queue.length) endDrain();
    };
    const release = (row: { sn: boolean }) => {
      use.live--;
      if (row.sn) use.storage--;
      settle();
      dispatch();
    };
    const moves = queue.map((vm) => {
      let ready!: () => void;
      started.push(new Promise<void>((r) => (ready = r)));
      const scenario = byName.get(vm.name)!;
      const row = { vm, sn: scenario.mode === 'shared-nothing', start: NaN, end: NaN, run: null as RealRun | null, error: null as unknown };
      rows.set(vm.name, row);
      return migrateReal({
        scenario,
        channels: o.channels ?? 4,
        ...(o.rate !== undefined ? { rate: o.rate } : {}),
        to,
        key,
        ...(o.bind ? { bind: o.bind } : {}),
        probeBytes: 0,
        // Every move and guest share this process: no one move's CPU can be told apart.
        measureCpu: false,
        ...(o.scratch ? { scratch: true } : {}),
        signal: stop.signal,
        beforeMigrating: () =>
          new Promise<void>((go) => {
            gates.set(vm.name, go);
            ready();
            if (stop.signal.aborted) go();
          }),
        onMigrated: () => {
          row.end = (performance.now() - t0) / 1000;
          release(row);
        },
        beforeVerify: () => drained,
        log: (line) => log(`${vm.name}: ${line}`),
      }).then(
        (run) => {
          row.run = run;
        },
        (e: unknown) => {
          row.error = e;
          ready(); // it may have failed before its gate
          if (!Number.isNaN(row.start) && Number.isNaN(row.end)) {
            row.end = (performance.now() - t0) / 1000;
            release(row);
          }
          if (Number.isNaN(row.start)) {
            settle();
            // Failed before it moved (its guest did not start, or the drain was cancelled): before the
            // drain begins, that stops it.
            if (t0 === 0) stop.abort();
          }
        },
      );
    });
    // Every move verifies once the last one has ended (hashing is CPU the running moves would lose).
    let endDrain!: () => void;
    const drained = new Promise<void>((r) => (endDrain = r));
    netdev = o.netdev === undefined ? NetdevSampler.forHost() : o.netdev;
    const sampler = netdev;
    void drained.then(() => sampler?.stop());
    const waiting = [...queue];
    const dispatch = (): void => {
      if (t0 === 0) return;
      for (let i = 0; i < waiting.length && !stop.signal.aborted; ) {
        const row = rows.get(waiting[i]!.name)!;
        const gate = gates.get(row.vm.name);
        if (row.error !== null) {
          waiting.splice(i, 1);
          continue;
        }
        if (!gate || use.live + 1 > spec.maxLive || (row.sn && use.storage + 1 > spec.maxStorage)) {
          i++;
          continue;
        }
        waiting.splice(i, 1);
        use.live++;
        if (row.sn) use.storage++;
        peakLive = Math.max(peakLive, use.live);
        peakStorage = Math.max(peakStorage, use.storage);
        row.start = (performance.now() - t0) / 1000;
        log(`${row.vm.name}: moving (${use.live} at once)`);
        gate();
      }
    };
    stop.signal.addEventListener('abort', () => {
      for (const [name, g] of gates) if (Number.isNaN(rows.get(name)!.start)) g();
    });
    await Promise.all(started);
    const guestsStart = (performance.now() - tStart) / 1000;
    if (!stop.signal.aborted) {
      t0 = performance.now();
      netdev?.start();
      log(`${queue.length} guests running (started in ${guestsStart.toFixed(1)} s); draining, ${spec.maxLive} at a time`);
      dispatch();
    }
    await Promise.all(moves);
    o.signal?.removeEventListener('abort', forward);
    const failedEarly = [...rows.values()].find((r) => Number.isNaN(r.start) && r.error !== null && !(r.error instanceof InterruptedError));
    if (failedEarly) throw failedEarly.error;
    if (o.signal?.aborted) {
      const done = [...rows.values()];
      const count = (f: (r: (typeof done)[number]) => boolean) => done.filter(f).length;
      const moved = count((r) => r.run?.result.outcome === 'completed');
      const back = count((r) => r.run?.result.outcome === 'rolled_back');
      const early = count((r) => !Number.isNaN(r.start) && r.run === null);
      throw new InterruptedError(
        `evacuation cancelled: ${moved} VM(s) moved, ${back} rolled back (they run on the source)${early > 0 ? `, ${early} stopped before their data moved` : ''}, ${count((r) => Number.isNaN(r.start))} never started`,
      );
    }
    const vms: EvacuatedVm[] = [];
    const measured: RealEvacuation['measured'] = [];
    for (const vm of queue) {
      const row = rows.get(vm.name)!;
      if (row.run === null) throw row.error ?? new Error(`${vm.name}: no result`);
      const r = row.run.result;
      vms.push({
        name: vm.name,
        source: 'source',
        destination: 'dest1',
        mode: r.mode,
        running: true,
        memory_bytes: r.memory_bytes,
        queued_s: row.start,
        start_s: row.start,
        end_s: row.end,
        total_time_s: r.total_time_s,
        downtime_ms: r.downtime_ms,
        memory_bytes_sent: r.memory_bytes_sent,
        total_bytes_sent: r.total_bytes_sent,
        storage_bytes_copied: r.storage_bytes_copied,
        outcome: r.outcome === 'completed' ? 'completed' : 'rolled_back',
        rollback_reason: r.rollback_reason,
        converged: r.converged,
        missed_pings: r.missed_pings,
        verified: r.verified,
        note: null,
      });
      measured.push({ name: vm.name, measured: row.run.measured });
    }
    vms.sort((a, b) => a.start_s - b.start_s);
    const makespan = Math.max(0, ...vms.map((v) => v.end_s));
    const moved = vms.filter((v) => v.outcome === 'completed').length;
    // Interfaces that carried at least 1% of what the moves sent (the rest is other traffic of the host).
    const sent = vms.reduce((t, v) => t + v.total_bytes_sent, 0);
    const { links, timeline } = netdev?.summary(makespan, 0.01 * sent) ?? { links: [], timeline: { interval_s: 0, samples: [] } };
    const result: EvacuationResult & { engine: 'real' } = {
      engine: 'real',
      makespan_s: makespan,
      window_s: spec.window,
      fits_window: spec.window === null ? null : makespan <= spec.window && moved === vms.length,
      window_margin_s: spec.window === null ? null : spec.window - makespan,
      peak_live: peakLive,
      peak_storage: peakStorage,
      vm_count: vms.length,
      migrations: vms.length,
      moved,
      failed: vms.length - moved,
      unplaced: 0,
      max_live: spec.maxLive,
      max_storage: spec.maxStorage,
      vms,
      nodes: [{ node: 'source', start_s: 0, end_s: makespan, vms: vms.length, moved }],
      links,
      timeline,
      faults: [],
    };
    return { result, measured, guests_start_s: guestsStart };
  } finally {
    netdev?.stop();
    await receiver?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}
