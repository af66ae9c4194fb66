// One simulated migration: the core's actions carried out in virtual time against the simulated guest
// (guest.ts), its storage (storage.ts), the hosts and their network (fabric.ts) with the transfers on it
// (transfers.ts) and the guest's networked IO (guest-io.ts), and the destination (destination.ts).
// `SimMigration` is the simulator's implementation of the effects interface (drivers/loop.ts); the loop
// and the core do the rest. Several SimMigrations can share one world (one clock, one network): each has
// its own guest, random streams and channels.

import { DiskImage, REGION_BYTES } from '../../guest/disk.js';
import { MigrationCore, type MigrationSummary } from '../../migration/core.js';
import type { Action, Event } from '../../migration/events.js';
import type { FaultSpec } from '../../migration/faults.js';
import { Rng } from '../../random/index.js';
import type { Scenario } from '../../scenario.js';
import type { Simulator } from '../../sim/index.js';
import { getEndpoint } from '../../storage/endpoints.js';
import { Runner, type Clock, type MigrationEffects, type Report } from '../loop.js';
import { SimChannels } from './channels.js';
import { DestHost, SimDestination } from './destination.js';
import type { SimHost } from './fabric.js';
import { GuestIoFlows } from './guest-io.js';
import { SimGuest } from './guest.js';
import { StorageSim, type WriteCounts } from './storage.js';
import { newWorld, type Route, type SimWorld } from './world.js';
import { SimSteps } from './steps.js';

export { newWorld, type Route, type SimWorld } from './world.js';

export interface ResolvedFault {
  spec: FaultSpec;
  /** Seconds since the start, or null when the fault's phase never happened. */
  time: number | null;
}

export interface RunOutput {
  summary: MigrationSummary;
  /** Core-seconds each host spent moving the migration's bytes (the transport's stack, compression). */
  sourceCpu: number;
  destinationCpu: number;
  /** Share of the memory's wire bytes that went compressed (null: the transport does not compress). */
  compressionShare: number | null;
  memoryVerified: boolean | null;
  writesLost: number;
  writes: WriteCounts;
  storageBytesCopied: number;
  /** Bytes the storage copy and the mirrored writes put on the network. */
  storageWireBytes: number;
}

type A<T extends Action['type']> = Extract<Action, { type: T }>;

/** The simulator as the loop's clock. */
export function simClock(sim: Simulator): Clock {
  return { now: () => sim.now, at: (t, fn) => sim.at(t, fn), cancel: (h) => sim.cancel(h as ReturnType<Simulator['at']>) };
}

export class SimMigration implements MigrationEffects {
  readonly core: MigrationCore;
  private runner!: Runner;
  private origin = 0;
  private readonly sim: Simulator;
  private readonly guest: SimGuest;
  private readonly storage: StorageSim;
  private readonly disk: DiskImage | null;
  private readonly src: SimHost;
  private readonly dst: SimHost;
  private readonly channels: SimChannels;
  private readonly io: GuestIoFlows;
  private readonly dest: SimDestination;
  private readonly memoryMode: boolean;
  private readonly copySpec: Scenario['vm'];
  private readonly steps: SimSteps;
  /** The guest IO speed the disks allow now (the network may allow less: `io.fraction()`). */
  private deviceScale: number;
  private memoryVerified: boolean | null = null;
  private writesLost = 0;
  private bytesCopied = 0;
  private storageWire = 0;
  private output: RunOutput | null = null;
  private memoryWire = { all: 0, compressed: 0 };
  private onFinished: (() => void) | null = null;
  private detaching: (() => void)[] = [];
  /** Set while this migration's own fault crashes its destination: its core arms the notice. */
  private crashing = false;

  constructor(
    private readonly world: SimWorld,
    private readonly s: Scenario,
    private readonly faults: readonly ResolvedFault[] = [],
    route: Route = { src: 'source', dst: 'destination', stream: 0 },
  ) {
    this.sim = world.sim;
    this.memoryMode = s.mode !== 'storage';
    const copies = s.mode === 'shared-nothing' || s.mode === 'storage';
    // Shared-nothing sends the configuration in its setup phase; a storage-only move copies every file.
    this.copySpec = s.mode === 'shared-nothing' ? { ...s.vm, files: s.vm.files.filter((f) => f.kind !== 'config') } : s.vm;
    this.disk = copies ? new DiskImage(this.copySpec, s.workload.io, Rng.stream(s.seed, 'disk-layout')) : null;
    this.storage = new StorageSim(this.disk, s.workload.io, s.storage.source, copies ? s.storage.dest : null, Rng.stream(s.seed, 'storage-io'), s.storage.copyMinShare);
    this.deviceScale = this.storage.baseScale;
    this.src = world.fabric.host(route.src);
    this.dst = world.fabric.host(route.dst);
    this.channels = new SimChannels(world, this.src, this.dst, s, route.stream);
    this.io = new GuestIoFlows(world.engine);
    const t = s.timing;
    const rtt = this.memoryMode ? s.network.rtt : 0;
    let host = world.destHosts.get(route.dst);
    if (!host) world.destHosts.set(route.dst, (host = new DestHost(route.dst, t.destRestartTime)));
    this.dest = new SimDestination(host, { rtt, resumeTime: t.resumeTime, restartTime: t.destRestartTime });
    this.core = new MigrationCore({
      mode: s.mode,
      memory: this.memoryMode ? { memoryPages: Math.ceil(s.memoryBytes / 4096), policy: s.policy, onNoConverge: s.onNoConverge, stateBytes: t.stateBytes } : null,
      storage: this.disk
        ? { regions: this.disk.regions, segmentRegions: Math.max(1, Math.round(s.storage.segmentBytes / REGION_BYTES)), boundaries: this.disk.boundaries, destFiles: this.copySpec.files.length, sourceFiles: s.vm.files.length }
        : null,
      configBytes: t.configBytes,
      timing: { detectTime: t.detectTime, replyTime: rtt, transferTimeout: t.transferTimeout, stallTime: t.stallTime, resolveTimeout: t.transferTimeout + t.destRestartTime },
    });
    this.guest = new SimGuest(s, this.storage, this.core.mirror);
    this.steps = new SimSteps(this.sim, world.engine, this.channels, (r, ev) => this.report(r, ev), () => this.now());
  }

  /** Start the migration now (its time 0 is the simulator's now); `done` runs when it finished. */
  start(done?: () => void): void {
    this.onFinished = done ?? null;
    this.origin = this.sim.now;
    this.runner = new Runner(this.core, this, simClock(this.sim), this.origin);
    this.channels.open();
    // What the world does to this migration's paths whoever caused it (a NIC or host failing).
    this.detaching.push(
      this.channels.onLost((cause) => this.pathsLost(cause)),
      this.dest.host.onCrash(() => this.destinationCrashed()),
    );
    this.detaching.push(this.world.engine.onRates(() => this.followIo()));
    // Faults strike after any completion due at the same instant (priority 1).
    for (const f of this.faults) if (f.time !== null) this.sim.at(this.origin + f.time, () => this.runner.deliver({ type: 'fault', now: this.now(), kind: f.spec.kind }), 1);
    this.runner.start();
    // Started on a world already broken (an evacuation's earlier fault): the hosts cannot connect, or the
    // destination is down; the source finds out after the detection time.
    if (this.memoryMode && this.channels.lost) this.pathsLost('all_channels_lost');
    else if (this.memoryMode && this.dest.availableAt(this.now()) > this.now()) this.destinationCrashed();
  }

  /** The run's outcome (after it finished). */
  result(): RunOutput {
    if (!this.output) throw new Error('the simulated migration has not finished');
    return this.output;
  }

  /** This migration's own time (seconds since it started). */
  private now(): number {
    return this.sim.now - this.origin;
  }

  // -- reporting ------------------------------------------------------------------------------------------

  /** Every report reaches the core after the guest's activity up to its time. */
  private report(r: Report, ev: Event): void {
    this.guest.advance(ev.now);
    switch (ev.type) {
      case 'segment-copied':
        this.storage.releaseHeld();
        break;
      case 'resumed':
        if (this.disk) this.writesLost = this.disk.missingOnDestination();
        break;
      case 'handed-off':
        if (this.s.mode === 'storage' && this.disk) this.writesLost = this.disk.missingOnDestination();
        break;
      case 'resumed-source':
        this.guest.running = true;
        this.guest.ioPaused = false;
        break;
    }
    r(ev);
  }

  // -- the guest's IO on the network ----------------------------------------------------------------------

  /** Set the guest's networked IO for the phase now (mirrored writes, converged SMB IO), and its speed. */
  private guestIo(): void {
    const { s, storage, guest } = this;
    if (!guest.running) {
      this.io.clear();
      return;
    }
    if (s.mode === 'shared-nothing' && this.core.mirror?.status === 'mirroring') {
      this.deviceScale = storage.mirroredScale();
      this.io.set(this.channels.demandPaths(storage.writeRate(this.deviceScale)));
    } else if (s.mode === 'smb-share' && s.storage.converged) {
      this.deviceScale = storage.baseScale;
      const perIo = this.deviceScale * s.workload.io.ioSize;
      this.io.set(this.channels.convergedPaths(s.workload.io.writeIops * perIo, s.workload.io.readIops * perIo));
    } else if (this.core.mirror?.status !== 'copying') {
      this.deviceScale = storage.baseScale;
      this.io.clear();
    }
    guest.ioScale = this.deviceScale * this.io.fraction();
  }

  /** The network moved: the guest's IO speed follows what its flows get (booked up to now first). */
  private followIo(): void {
    if (!this.runner || this.runner.finished) return;
    const scale = this.deviceScale * this.io.fraction();
    if (scale === this.guest.ioScale) return;
    this.guest.advance(this.now());
    this.guest.ioScale = scale;
  }

  // -- step actions -----------------------------------------------------------------------------------------

  setup(a: A<'setup'>, r: Report): void {
    this.guestIo();
    const t = this.s.timing;
    if (!this.memoryMode) return this.steps.delay(r, t.setupTime, (now) => ({ type: 'setup-done', now }));
    // The configuration crosses the link (its last acknowledgement), then the destination creates the VM.
    const spec = this.channels.bulk(a.configBytes);
    this.steps.transfer(r, { ...spec, tail: spec.tail + t.setupTime }, (now) => ({ type: 'setup-done', now }));
  }

  copySegment(a: A<'copy-segment'>, r: Report): void {
    const { s, storage } = this;
    const d = this.disk!;
    const bytes = d.bytesIn(a.start, a.end);
    d.copy(a.start, a.end); // the segment is read now; writes into it wait until it lands
    const file = d.fileAt(a.start);
    const target = file.destination ? getEndpoint(file.destination) : s.storage.dest;
    const seg = storage.segment(a.start, target);
    this.guest.advance(this.now());
    this.deviceScale = seg.scale;
    // Shared-nothing copies to the other host, its writes mirrored beside it; a storage move to or from an
    // SMB file share reaches the file server over the host's SMB links; otherwise the copy stays in the host.
    const overLink = s.mode === 'shared-nothing' || target.kind === 'smb' || s.storage.source.kind === 'smb';
    const make = (now: number) => {
      this.bytesCopied += bytes;
      if (overLink) this.storageWire += bytes;
      return { type: 'segment-copied' as const, now };
    };
    if (s.mode === 'shared-nothing') {
      this.io.set(this.channels.demandPaths(seg.mirrorRate));
      this.steps.transfer(r, { ...this.channels.bulk(bytes, this.channels.devices(s.storage.source, target)), groupCap: seg.rate }, make);
    } else if (overLink) {
      this.steps.transfer(r, { ...this.channels.toFileServer(bytes, s.storage.source.kind === 'smb'), groupCap: seg.rate }, make);
    } else this.steps.delay(r, bytes / seg.rate, make);
    this.guest.ioScale = this.deviceScale * this.io.fraction();
  }

  sync(_a: A<'sync'>, r: Report): void {
    const c = this.guest.sync(this.s.runCost > 0); // runs cost only with --run-cost
    this.steps.delay(r, 0, (now) => ({ type: 'synced', now, pages: c.pages, zeroPages: c.zeroPages }));
  }

  send(a: A<'send'>, r: Report): void {
    this.guest.throttle = a.throttle;
    this.sendPending(r, 0);
  }

  sendFinal(a: A<'send-final'>, r: Report): void {
    this.sendPending(r, a.stateBytes);
  }

  private sendPending(r: Report, stateBytes: number): void {
    this.guestIo();
    const sent = this.guest.pending;
    const spec = this.channels.pages(sent.pages - sent.zeroPages, sent.zeroPages, stateBytes, sent.runs);
    this.memoryWire.all += spec.bytes;
    this.memoryWire.compressed += spec.compressed;
    this.guest.sendPending();
    this.steps.transfer(r, spec, (now) => ({ type: 'sent', now, pages: sent.pages, zeroPages: sent.zeroPages, wireBytes: spec.bytes }));
  }

  pause(_a: A<'pause'>, r: Report): void {
    this.guest.advance(this.now());
    this.guest.running = false;
    this.guestIo();
    this.steps.delay(r, 0, (now) => ({ type: 'paused', now }));
  }

  handoff(_a: A<'handoff'>, r: Report): void {
    if (this.s.mode === 'storage') this.guest.ioPaused = true; // the VM's IO pauses while it switches to the new files
    const rtt = this.channels.rtt;
    // The destination cannot open the VM's files: it refuses the handoff.
    if (this.dest.host.storageBroken) return this.steps.at(r, this.origin + this.now() + rtt, (now) => ({ type: 'failure', now, cause: 'dest_storage_error' }));
    this.steps.delay(r, rtt + this.s.timing.handoffTime, (now) => ({ type: 'handed-off', now }));
  }

  resume(_a: A<'resume'>, r: Report): void {
    this.memoryVerified = this.guest.verified();
    this.dest.resumeSent(this.now());
    this.steps.delay(r, this.channels.rtt + this.s.timing.resumeTime, (now) => ({ type: 'resumed', now }));
  }

  queryOwner(_a: A<'query-owner'>, r: Report): void {
    // Over the hosts' management path (the migration's links may be down): the destination's word.
    const ans = this.dest.askOwner(this.now());
    this.steps.at(r, this.origin + ans.at, (now) => ({ type: 'owner', now, owner: ans.owner, resumedAt: ans.resumedAt }));
  }

  cleanup(_a: A<'cleanup'>, r: Report): void {
    this.guest.ioPaused = false;
    const t = this.s.timing;
    this.steps.delay(r, this.channels.rtt + t.cleanupTime + (this.s.mode === 'cluster' ? t.clusterUpdateTime : 0), (now) => ({ type: 'cleaned-up', now }));
  }

  resumeSource(_a: A<'resume-source'>, r: Report): void {
    this.storage.dropHeld(); // writes held for the abandoned segment complete on the source only
    this.io.clear();
    this.steps.delay(r, this.s.timing.resumeTime, (now) => ({ type: 'resumed-source', now }));
  }

  cleanDestination(_a: A<'clean-destination'>, r: Report): void {
    this.storage.dropHeld();
    this.io.clear();
    this.guest.ioPaused = false;
    const t = this.s.timing;
    // Reachable: ask the destination to delete its VM and files (it acts once back from a crash or a
    // stall). Unreachable: it notices the dead migration itself after the transfer timeout and cleans up.
    const now = this.now();
    const half = this.channels.rtt / 2;
    const done = this.channels.lost && this.memoryMode && !this.dest.crashed ? now + t.transferTimeout : this.dest.availableAt(now + half) + half;
    this.steps.delay(r, done - now + t.cleanupTime, (tt) => ({ type: 'destination-cleaned', now: tt }));
  }

  // -- faults: what the world does ----------------------------------------------------------------------------

  /** Injected by the core's `impair`: carried out on the world, which then tells every migration it touches. */
  impair(a: A<'impair'>, r: Report): void {
    const now = this.now();
    const t = this.s.timing;
    let lost = false;
    this.channels.quiet = true; // this migration's own fault: the core arms its notice, not pathsLost
    switch (a.kind) {
      case 'link-down':
        lost = this.channels.failLink();
        break;
      case 'nic-down':
        lost = this.channels.failNic();
        break;
      case 'channel-down':
        lost = this.channels.failChannel();
        break;
      case 'dest-crash':
        this.crashing = true;
        this.dest.crash(now);
        this.crashing = false;
        break;
      case 'dest-storage-error':
        this.dest.host.storageBroken = true;
        break;
      case 'auth-failure':
        break;
      case 'stall':
        this.dest.stall(now, t.stallTime);
        if (!a.cuts) this.steps.freeze(t.stallTime);
        break;
    }
    this.channels.quiet = false;
    if (lost) this.dest.linkLost(now);
    // The step in progress cannot complete: it stops now (the source notices later).
    if (a.cuts || lost) this.steps.cancel();
    r({ type: 'impaired', now, kind: a.kind, lost });
  }

  unstall(): void {
    // The destination knows when the stall ends; the step in progress was re-timed when it struck.
  }

  /** The world took this migration's last path (another migration's fault, or one of the evacuation's). */
  private pathsLost(cause: 'link_down' | 'all_channels_lost'): void {
    const now = this.now();
    this.dest.linkLost(now);
    if (this.steps.current === 'transfer') this.steps.cancel();
    this.sim.at(this.sim.now + this.s.timing.detectTime, () => this.runner.deliver({ type: 'failure', now: this.now(), cause }));
  }

  /** The destination host crashed (the evacuation's fault, or another migration's). */
  private destinationCrashed(): void {
    if (this.crashing || this.runner.finished || this.core.currentPhase === 'cleanup' || this.core.currentPhase === 'done') return;
    this.steps.cancel();
    this.sim.at(this.sim.now + this.s.timing.detectTime, () => this.runner.deliver({ type: 'failure', now: this.now(), cause: 'dest_crash' }));
  }

  finished(): void {
    const s = this.s;
    const summary = this.core.summary();
    this.steps.cancel();
    this.io.clear();
    for (const d of this.detaching.splice(0)) d();
    this.channels.close();
    this.guest.release();
    const mirrorOverLink = s.mode === 'shared-nothing' || (s.mode === 'storage' && this.storageWire > 0);
    // Mirrored writes cross the migration's transport too (the guest's converged IO is the guest's own).
    const mirrored = s.mode === 'shared-nothing' ? this.storage.counts.mirroredBytes : 0;
    this.output = {
      summary,
      sourceCpu: this.steps.cpu.source + mirrored * this.channels.cpuPerByte.source,
      destinationCpu: this.steps.cpu.destination + mirrored * this.channels.cpuPerByte.destination,
      compressionShare: s.transport === 'compression' ? (this.memoryWire.all > 0 ? this.memoryWire.compressed / this.memoryWire.all : 0) : null,
      memoryVerified: this.memoryVerified,
      writesLost: this.writesLost,
      writes: this.storage.counts,
      storageBytesCopied: this.bytesCopied,
      storageWireBytes: this.storageWire + (mirrorOverLink ? this.storage.counts.mirroredBytes : 0),
    };
    this.onFinished?.();
  }
}

/** Run one migration alone in a fresh world. */
export function runOnce(s: Scenario, faults: readonly ResolvedFault[]): RunOutput {
  const world = newWorld(s);
  const m = new SimMigration(world, s, faults);
  m.start();
  world.sim.run();
  return m.result();
}
