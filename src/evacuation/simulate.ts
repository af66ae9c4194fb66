// An evacuation in the simulator: every VM of a host (or, rolling, of every node of a cluster, one node
// after another) moves on one clock and one network. Each host runs at most `maxLive` live migrations and
// `maxStorage` storage migrations at once (Hyper-V's Set-VMHost limits); the rest queue, in order. Each
// VM goes to the destination with the most free memory that fits it; one that fits nowhere is reported,
// not moved. Live migrations are the simulator's own (SimMigration: page-level guests, the core, faults);
// Off and Saved VMs move by configuration (OfflineMove). Faults of the evacuation strike the world: a NIC
// or the links of the host being drained, or a destination host.

import { InputError } from '../errors.js';
import { OfflineMove } from '../drivers/sim/offline.js';
import { SimMigration, toResult } from '../drivers/sim/index.js';
import { DestHost } from '../drivers/sim/destination.js';
import { newWorld, type SimWorld } from '../drivers/sim/world.js';
import { deriveSeed } from '../random/index.js';
import type { MigrationResult } from '../result.js';
import { resolveScenario, type Scenario } from '../scenario.js';
import { formatBytes } from '../units/index.js';
import { LinkStats } from './linkstats.js';
import { orderVms, place, vmScenarioInput } from './plan.js';
import type { EvacuatedVm, EvacuationResult, EvacuationSpec, NodeDrain } from './types.js';
import type { VmEntry } from './vm-fields.js';

interface Node {
  name: string;
  /** Memory for VMs, bytes (Infinity: unlimited). */
  capacity: number;
  vms: VmEntry[];
}

interface Slots {
  live: number;
  storage: number;
}

export function simulateEvacuation(spec: EvacuationSpec): EvacuationResult {
  return new Evacuation(spec).run();
}

class Evacuation {
  private readonly base: Scenario;
  private readonly world: SimWorld;
  private readonly stats: LinkStats;
  private readonly scenarios = new Map<string, Scenario>();
  private readonly slots = new Map<string, Slots>();
  private readonly streams = new Map<string, number>();
  private readonly records: EvacuatedVm[] = [];
  private readonly drains: NodeDrain[] = [];
  private live = 0;
  private storage = 0;
  private peakLive = 0;
  private peakStorage = 0;
  /** The host being drained now and its destinations (what the evacuation's faults strike). */
  private current: { source: string; destinations: string[] } | null = null;

  constructor(private readonly spec: EvacuationSpec) {
    if (spec.base.fault !== undefined) throw new InputError({ source: '--fault', expected: 'for evacuate, KIND@TIME with KIND link-down, nic-down or dest-crash (a fault of the whole drain)', got: spec.base.fault });
    if (!(Number.isInteger(spec.maxLive) && spec.maxLive >= 1)) throw new InputError({ source: '--max-live', expected: 'a whole number >= 1', got: spec.maxLive });
    if (!(Number.isInteger(spec.maxStorage) && spec.maxStorage >= 1)) throw new InputError({ source: '--max-storage', expected: 'a whole number >= 1', got: spec.maxStorage });
    if (spec.vms.length === 0) throw new InputError({ source: '--vms', expected: 'at least one VM to move', got: 0 });
    this.base = resolveScenario(spec.base);
    if (this.base.mode === 'storage') throw new InputError({ source: '--mode', expected: 'cluster, smb-share or shared-nothing (an evacuation moves VMs to other hosts)', got: 'storage' });
    this.world = newWorld(this.base);
    this.stats = new LinkStats(this.world);
  }

  run(): EvacuationResult {
    const { spec, world } = this;
    const nodes = this.nodes();
    for (const n of nodes) world.fabric.host(n.name);
    this.stats.watchPorts();
    for (const f of spec.faults) world.sim.at(f.time, () => this.strike(f.kind), 1);
    const order = spec.rolling === null ? [nodes[0]!] : nodes;
    const next = (i: number): void => {
      if (i >= order.length) return;
      this.drain(order[i]!, nodes, () => world.sim.at(world.sim.now + (i + 1 < order.length ? spec.updateTime : 0), () => next(i + 1)));
    };
    next(0);
    world.sim.run(Infinity, 1e9);
    const makespan = Math.max(0, ...this.records.map((r) => r.end_s), ...this.drains.map((d) => d.end_s));
    const { links, timeline } = this.stats.finish(makespan);
    // In the order they started (then the inventory's), not the order they ended.
    const index = new Map(spec.vms.map((v, i) => [v.name, i]));
    this.records.sort((a, b) => a.start_s - b.start_s || index.get(a.name)! - index.get(b.name)!);
    const moved = this.records.filter((r) => r.outcome === 'completed').length;
    const unplaced = this.records.filter((r) => r.outcome === 'unplaced').length;
    return {
      makespan_s: makespan,
      window_s: spec.window,
      fits_window: spec.window === null ? null : makespan <= spec.window && moved === this.records.length,
      window_margin_s: spec.window === null ? null : spec.window - makespan,
      peak_live: this.peakLive,
      peak_storage: this.peakStorage,
      vm_count: new Set(this.records.map((r) => r.name)).size,
      migrations: this.records.length,
      moved,
      failed: this.records.length - moved - unplaced,
      unplaced,
      max_live: spec.maxLive,
      max_storage: spec.maxStorage,
      vms: this.records,
      nodes: this.drains,
      links,
      timeline,
      faults: spec.faults.map((f) => f.text),
    };
  }

  /** The hosts: one source and its destinations, or the cluster's nodes (VMs on the node the inventory names, else round robin). */
  private nodes(): Node[] {
    const { spec } = this;
    const capacity = spec.destMemory ?? Number.MAX_SAFE_INTEGER; // unlimited
    if (spec.rolling === null) {
      if (!(Number.isInteger(spec.destinations) && spec.destinations >= 1)) throw new InputError({ source: '--destinations', expected: 'a whole number >= 1', got: spec.destinations });
      return [{ name: 'source', capacity: Number.MAX_SAFE_INTEGER, vms: [...spec.vms] }, ...Array.from({ length: spec.destinations }, (_, i) => ({ name: `dest${i + 1}`, capacity, vms: [] }))];
    }
    if (!(Number.isInteger(spec.rolling) && spec.rolling >= 2)) throw new InputError({ source: '--rolling', expected: 'a whole number of cluster nodes >= 2', got: spec.rolling });
    const named = [...new Set(spec.vms.map((v) => v.host).filter((h): h is string => h !== null))];
    if (named.length > spec.rolling) throw new InputError({ source: '--rolling', expected: `at least as many nodes as the inventory names (${named.length}: ${named.join(', ')})`, got: spec.rolling });
    const names = [...named, ...Array.from({ length: spec.rolling }, (_, i) => `node${i + 1}`).filter((n) => !named.includes(n))].slice(0, spec.rolling);
    const nodes: Node[] = names.map((name) => ({ name, capacity, vms: [] }));
    let rr = 0;
    for (const vm of spec.vms) {
      const n = vm.host !== null ? nodes.find((x) => x.name === vm.host)! : nodes[rr++ % nodes.length]!;
      n.vms.push(vm);
    }
    for (const n of nodes) {
      const used = n.vms.reduce((t, v) => t + v.memoryBytes, 0);
      if (used > n.capacity) throw new InputError({ source: '--dest-memory', expected: `room on each node for the VMs it runs (${n.name} runs ${formatBytes(used)})`, got: formatBytes(n.capacity) });
    }
    return nodes;
  }

  /** The scenario of one VM: the shared options, its own memory, workload, disk and mode, its own seed. */
  private scenario(vm: VmEntry): Scenario {
    const input = vmScenarioInput(this.spec.base, vm);
    const key = JSON.stringify(input);
    let s = this.scenarios.get(key);
    if (!s) {
      try {
        s = resolveScenario(input);
      } catch (e) {
        if (e instanceof InputError) throw new InputError({ source: vm.origin, expected: e.expected, got: e.got, detail: e.message });
        throw e;
      }
      this.scenarios.set(key, s);
    }
    return { ...s, seed: deriveSeed(this.base.seed, 'vm', vm.name) };
  }

  private slotsOf(host: string): Slots {
    let x = this.slots.get(host);
    if (!x) this.slots.set(host, (x = { live: 0, storage: 0 }));
    return x;
  }

  /** Drain one host: place its VMs, then move them as the limits allow; `done` when the last one ended. */
  private drain(source: Node, nodes: Node[], done: () => void): void {
    const { spec, world } = this;
    const t0 = world.sim.now;
    const dests = nodes.filter((n) => n !== source && (spec.rolling !== null || n.name !== 'source'));
    this.current = { source: source.name, destinations: dests.map((d) => d.name) };
    for (const d of dests) if (!world.destHosts.has(d.name)) world.destHosts.set(d.name, new DestHost(d.name, this.base.timing.destRestartTime));
    const used = (n: Node) => n.vms.reduce((t, v) => t + v.memoryBytes, 0);
    const placement = place(orderVms(source.vms, spec.order), dests.map((d) => ({ name: d.name, freeBytes: d.capacity - used(d) })));
    for (const u of placement.unplaced) this.records.push(unplacedRecord(u.vm, source.name, this.scenario(u.vm).mode, world.sim.now, u.reason));
    const queue = placement.placed.map((p) => ({ vm: p.vm, dest: nodes.find((n) => n.name === p.host)!, s: this.scenario(p.vm) }));
    // Reserve the destinations' memory for the VMs placed there (returned if a move fails).
    for (const q of queue) q.dest.vms.push(q.vm);
    let running = 0;
    const drainRecord: NodeDrain = { node: source.name, start_s: t0, end_s: t0, vms: source.vms.length, moved: 0 };
    this.drains.push(drainRecord);
    const needs = (q: (typeof queue)[number]) => ({ live: q.vm.running ? 1 : 0, storage: q.s.mode === 'shared-nothing' ? 1 : 0 });
    const fits = (host: string, n: Slots) => {
      const h = this.slotsOf(host);
      return h.live + n.live <= spec.maxLive && h.storage + n.storage <= spec.maxStorage;
    };
    const take = (host: string, n: Slots, sign: number) => {
      const h = this.slotsOf(host);
      h.live += sign * n.live;
      h.storage += sign * n.storage;
    };
    const dispatch = (): void => {
      for (let i = 0; i < queue.length; ) {
        const q = queue[i]!;
        const n = needs(q);
        if (!fits(source.name, n) || !fits(q.dest.name, n)) {
          i++;
          continue;
        }
        queue.splice(i, 1);
        take(source.name, n, 1);
        take(q.dest.name, n, 1);
        running++;
        this.live += n.live;
        this.storage += n.storage;
        this.peakLive = Math.max(this.peakLive, this.live);
        this.peakStorage = Math.max(this.peakStorage, this.storage);
        this.start(q.vm, q.s, source, q.dest, t0, (ok) => {
          take(source.name, n, -1);
          take(q.dest.name, n, -1);
          this.live -= n.live;
          this.storage -= n.storage;
          running--;
          if (ok) {
            source.vms.splice(source.vms.indexOf(q.vm), 1);
            drainRecord.moved++;
          } else q.dest.vms.splice(q.dest.vms.indexOf(q.vm), 1);
          dispatch();
        });
      }
      if (running === 0 && queue.length === 0) {
        drainRecord.end_s = world.sim.now;
        done();
      }
    };
    dispatch();
  }

  /** Start one VM's move now; `finished(ok)` when it ended (ok: it runs on the destination). */
  private start(vm: VmEntry, s: Scenario, src: Node, dst: Node, t0: number, finished: (ok: boolean) => void): void {
    const { world } = this;
    const pair = `${src.name}>${dst.name}`;
    const stream = this.streams.get(pair) ?? 0;
    this.streams.set(pair, stream + 1);
    const route = { src: src.name, dst: dst.name, stream };
    const startedAt = world.sim.now;
    const common = { name: vm.name, source: src.name, destination: dst.name, mode: s.mode, running: vm.running, memory_bytes: vm.memoryBytes, queued_s: startedAt - t0, start_s: startedAt, note: null };
    if (!vm.running) {
      const move = new OfflineMove(world, s, route);
      move.start(() => {
        const r = move.output();
        this.records.push({ ...common, end_s: world.sim.now, total_time_s: r.total_time_s, downtime_ms: 0, memory_bytes_sent: 0, total_bytes_sent: r.total_bytes_sent, storage_bytes_copied: r.storage_bytes_copied, outcome: r.outcome, rollback_reason: r.rollback_reason, converged: null, missed_pings: 0, verified: null });
        finished(r.outcome === 'completed');
      });
      return;
    }
    const m = new SimMigration(world, s, [], route);
    m.start(() => {
      const r: MigrationResult = toResult(s, m.result());
      this.records.push({
        ...common,
        end_s: world.sim.now,
        total_time_s: r.total_time_s,
        downtime_ms: r.downtime_ms,
        memory_bytes_sent: r.memory_bytes_sent,
        total_bytes_sent: r.total_bytes_sent,
        storage_bytes_copied: r.storage_bytes_copied,
        outcome: r.outcome,
        rollback_reason: r.rollback_reason,
        converged: r.converged,
        missed_pings: r.missed_pings,
        verified: r.verified,
      });
      finished(r.outcome === 'completed');
    });
  }

  /** A fault of the whole evacuation strikes the world now. */
  private strike(kind: EvacuationSpec['faults'][number]['kind']): void {
    const cur = this.current;
    if (!cur) return;
    const { fabric, engine } = this.world;
    if (kind === 'dest-crash') {
      const name = cur.destinations[0];
      const host = name ? this.world.destHosts.get(name) : undefined;
      host?.crash(this.world.sim.now);
      return;
    }
    const src = fabric.host(cur.source);
    const live = [...src.ports.values()].filter((p) => p.alive);
    const fail = kind === 'link-down' ? live : live.slice(0, 1);
    engine.mutate(() => fail.forEach((p) => fabric.failNic(src, p.nic.name)));
  }
}

function unplacedRecord(vm: VmEntry, source: string, mode: string, at: number, reason: string): EvacuatedVm {
  return { name: vm.name, source, destination: null, mode, running: vm.running, memory_bytes: vm.memoryBytes, queued_s: 0, start_s: at, end_s: at, total_time_s: 0, downtime_ms: 0, memory_bytes_sent: 0, total_bytes_sent: 0, storage_bytes_copied: 0, outcome: 'unplaced', rollback_reason: null, converged: null, missed_pings: 0, verified: null, note: reason };
}
