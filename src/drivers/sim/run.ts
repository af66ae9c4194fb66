// One simulated migration: the core's actions carried out in virtual time against the simulated guest
// (guest.ts), its storage (storage.ts), the link and the activity in progress on it (link.ts,
// activity.ts) and the destination host (destination.ts). `SimMigration` is the simulator's
// implementation of the effects interface (drivers/loop.ts); the loop and the core do the rest. Several
// SimMigrations can share one Simulator (one clock); each has its own world and random streams.

import { DiskImage, REGION_BYTES } from '../../guest/disk.js';
import { MigrationCore, type MigrationSummary } from '../../migration/core.js';
import type { Action, Cause, Event } from '../../migration/events.js';
import type { FaultSpec } from '../../migration/faults.js';
import { Rng } from '../../random/index.js';
import type { Scenario } from '../../scenario.js';
import type { Simulator } from '../../sim/index.js';
import { getEndpoint } from '../../storage/endpoints.js';
import { buildLink } from '../../transport/model.js';
import { Runner, type Clock, type MigrationEffects, type Report } from '../loop.js';
import { ActivityClock } from './activity.js';
import { SimDestination } from './destination.js';
import { SimGuest } from './guest.js';
import { SimLink } from './link.js';
import { StorageSim, type WriteCounts } from './storage.js';

export interface ResolvedFault {
  spec: FaultSpec;
  /** Seconds since the start, or null when the fault's phase never happened. */
  time: number | null;
}

export interface RunOutput {
  summary: MigrationSummary;
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
  /** The simulator's time when this migration started (its own time 0). */
  private origin = 0;
  private readonly guest: SimGuest;
  private readonly storage: StorageSim;
  private readonly disk: DiskImage | null;
  private readonly link: SimLink;
  private readonly activity: ActivityClock;
  private readonly dest: SimDestination;
  private readonly memoryMode: boolean;
  private readonly copySpec: Scenario['vm'];
  /** What a storage-only move to or from an SMB share gets: the host's SMB multichannel links. */
  private readonly smbLinkRate: number;
  private readonly rtt: number;
  private memoryVerified: boolean | null = null;
  private writesLost = 0;
  private bytesCopied = 0;
  private storageWire = 0;
  private output: RunOutput | null = null;
  private onFinished: (() => void) | null = null;

  constructor(
    private readonly sim: Simulator,
    private readonly s: Scenario,
    private readonly faults: readonly ResolvedFault[] = [],
  ) {
    this.memoryMode = s.mode !== 'storage';
    const copies = s.mode === 'shared-nothing' || s.mode === 'storage';
    // Shared-nothing sends the configuration in its setup phase; a storage-only move copies every file.
    this.copySpec = s.mode === 'shared-nothing' ? { ...s.vm, files: s.vm.files.filter((f) => f.kind !== 'config') } : s.vm;
    this.disk = copies ? new DiskImage(this.copySpec, s.workload.io, Rng.stream(s.seed, 'disk-layout')) : null;
    this.storage = new StorageSim(this.disk, s.workload.io, s.storage.source, copies ? s.storage.dest : null, Rng.stream(s.seed, 'storage-io'), s.storage.copyMinShare);
    this.link = new SimLink(buildLink(s.network, s.transport, { compression: s.compression, ...(s.zeroScanRate !== null ? { zeroScanRate: s.zeroScanRate } : {}), runCost: s.runCost }), s.network.nics);
    this.smbLinkRate = s.mode === 'storage' ? buildLink(s.network, 'smb').rate : 0;
    this.rtt = this.memoryMode ? this.link.rtt : 0;
    const t = s.timing;
    this.core = new MigrationCore({
      mode: s.mode,
      memory: this.memoryMode ? { memoryPages: Math.ceil(s.memoryBytes / 4096), policy: s.policy, onNoConverge: s.onNoConverge, stateBytes: t.stateBytes } : null,
      storage: this.disk
        ? {
            regions: this.disk.regions,
            segmentRegions: Math.max(1, Math.round(s.storage.segmentBytes / REGION_BYTES)),
            boundaries: this.disk.boundaries,
            destFiles: this.copySpec.files.length,
            sourceFiles: s.vm.files.length,
          }
        : null,
      configBytes: t.configBytes,
      timing: { detectTime: t.detectTime, replyTime: this.rtt, transferTimeout: t.transferTimeout, stallTime: t.stallTime, resolveTimeout: t.transferTimeout + t.destRestartTime },
    });
    this.guest = new SimGuest(s, this.storage, this.core.mirror);
    this.dest = new SimDestination({ rtt: this.rtt, resumeTime: t.resumeTime, restartTime: t.destRestartTime });
    this.activity = new ActivityClock(sim, () => this.link.available, t.detectTime, (ev) => this.reportNow(ev));
  }

  /** Start the migration now (its time 0 is the simulator's now); `done` runs when it finished. */
  start(done?: () => void): void {
    this.onFinished = done ?? null;
    this.origin = this.sim.now;
    this.runner = new Runner(this.core, this, simClock(this.sim), this.origin);
    // Faults strike after any completion due at the same instant (priority 1).
    for (const f of this.faults) if (f.time !== null) this.sim.at(this.origin + f.time, () => this.runner.deliver({ type: 'fault', now: this.now(), kind: f.spec.kind }), 1);
    this.runner.start();
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

  /** The activity in progress ended: report its event to the step that started it. */
  private stepReport: Report = () => undefined;
  private reportNow(ev: Event): void {
    this.report(this.stepReport, ev);
  }

  /** Start an activity for the step whose report is `r`. */
  private activityFor(r: Report, seconds: number, make: (now: number) => Event, transfer?: Parameters<ActivityClock['start']>[2], striped?: Parameters<ActivityClock['start']>[3]): void {
    this.stepReport = r;
    this.activity.start(seconds, (t) => make(t - this.origin), transfer, striped);
  }

  /** A reply or an answer that reaches the source at `at` (this migration's time). */
  private replyAt(r: Report, at: number, ev: (now: number) => Event): void {
    this.activity.cancel();
    this.stepReport = r;
    this.sim.at(this.origin + at, () => this.report(r, ev(this.now())));
  }

  /** Other traffic on the migration's links while the VM runs, and the guest's IO speed it allows. */
  private setBackground(): void {
    const { link, storage, guest, s } = this;
    link.background = 0;
    guest.ioScale = storage.baseScale;
    if (!guest.running) return;
    if (s.mode === 'shared-nothing' && this.core.mirror?.status === 'mirroring') {
      guest.ioScale = storage.mirroredScale(link.rate);
      link.background = storage.writeRate(guest.ioScale);
    } else if (s.mode === 'smb-share' && s.storage.converged) {
      guest.ioScale = storage.convergedScale(link.rate);
      link.background = storage.ioRate(guest.ioScale);
    }
  }

  // -- step actions -----------------------------------------------------------------------------------------

  setup(a: A<'setup'>, r: Report): void {
    this.setBackground();
    const c = this.link.cost(0, 0, a.configBytes);
    this.activityFor(r, (this.memoryMode ? c.seconds : 0) + this.s.timing.setupTime, (t) => ({ type: 'setup-done', now: t }));
  }

  copySegment(a: A<'copy-segment'>, r: Report): void {
    const { s, storage } = this;
    const d = this.disk!;
    const bytes = d.bytesIn(a.start, a.end);
    d.copy(a.start, a.end); // the segment is read now; writes into it wait until it lands
    const file = d.fileAt(a.start);
    const target = file.destination ? getEndpoint(file.destination) : s.storage.dest;
    // Shared-nothing copies to the other host; a storage move to or from an SMB file share reaches
    // the file server over the host's SMB multichannel links. Otherwise the copy stays in the host.
    const overLink = s.mode === 'shared-nothing' || target.kind === 'smb' || s.storage.source.kind === 'smb';
    const linkRate = s.mode === 'shared-nothing' ? this.link.available : this.smbLinkRate;
    const t = storage.segment(bytes, a.start, overLink ? linkRate : null, target);
    this.guest.ioScale = t.scale;
    // Only a shared-nothing copy rides the migration link; a failure there re-times the segment
    // (the disks may still be the bound) and the guest IO it leaves room for.
    const rateAt = (available: number): number => {
      if (s.mode !== 'shared-nothing') return bytes / t.seconds;
      const rt = storage.segment(bytes, a.start, available, target);
      this.guest.advance(this.now()); // the guest IO so far at the old speed, from now on at the new one
      this.guest.ioScale = rt.scale;
      return bytes / rt.seconds;
    };
    this.activityFor(
      r,
      t.seconds,
      (tt) => {
        this.bytesCopied += bytes;
        if (overLink) this.storageWire += bytes;
        return { type: 'segment-copied', now: tt };
      },
      { bytes, rateAt },
    );
  }

  sync(_a: A<'sync'>, r: Report): void {
    const c = this.guest.sync(this.s.runCost > 0); // runs cost only with --run-cost
    this.activityFor(r, 0, (t) => ({ type: 'synced', now: t, pages: c.pages, zeroPages: c.zeroPages }));
  }

  send(a: A<'send'>, r: Report): void {
    this.guest.throttle = a.throttle;
    this.sendPending(r, 0);
  }

  sendFinal(a: A<'send-final'>, r: Report): void {
    this.sendPending(r, a.stateBytes);
  }

  private sendPending(r: Report, stateBytes: number): void {
    this.setBackground();
    const link = this.link;
    const sent = this.guest.pending;
    const c = link.cost(sent.pages - sent.zeroPages, sent.zeroPages, stateBytes, sent.runs);
    const availableAtStart = link.available;
    this.guest.sendPending();
    this.activityFor(
      r,
      c.seconds,
      (t) => ({ type: 'sent', now: t, pages: sent.pages, zeroPages: sent.zeroPages, wireBytes: c.wireBytes }),
      // The link's part stretches as the link thins; the source's page work (the floor) does not.
      { bytes: c.wireBytes, rateAt: (available) => c.wireBytes / Math.max((c.wireSeconds * availableAtStart) / available, c.floor) },
      link.striped ? link.stripedSpec(c.wireBytes, c.floor) : undefined,
    );
  }

  pause(_a: A<'pause'>, r: Report): void {
    this.guest.running = false;
    this.activityFor(r, 0, (t) => ({ type: 'paused', now: t }));
  }

  handoff(_a: A<'handoff'>, r: Report): void {
    if (this.s.mode === 'storage') this.guest.ioPaused = true; // the VM's IO pauses while it switches to the new files
    if (this.dest.storageBroken) {
      // The destination cannot open the VM's files: it refuses the handoff.
      this.replyAt(r, this.now() + this.rtt, (now) => ({ type: 'failure', now, cause: 'dest_storage_error' }));
      return;
    }
    this.activityFor(r, this.rtt + this.s.timing.handoffTime, (t) => ({ type: 'handed-off', now: t }));
  }

  resume(_a: A<'resume'>, r: Report): void {
    this.memoryVerified = this.guest.verified();
    this.dest.resumeSent(this.now());
    this.activityFor(r, this.rtt + this.s.timing.resumeTime, (t) => ({ type: 'resumed', now: t }));
  }

  queryOwner(_a: A<'query-owner'>, r: Report): void {
    // Over the hosts' management path (the migration's links may be down): the destination's word.
    const ans = this.dest.askOwner(this.now());
    this.replyAt(r, ans.at, (now) => ({ type: 'owner', now, owner: ans.owner, resumedAt: ans.resumedAt }));
  }

  cleanup(_a: A<'cleanup'>, r: Report): void {
    this.guest.ioPaused = false;
    const t = this.s.timing;
    this.activityFor(r, this.rtt + t.cleanupTime + (this.s.mode === 'cluster' ? t.clusterUpdateTime : 0), (tt) => ({ type: 'cleaned-up', now: tt }));
  }

  resumeSource(_a: A<'resume-source'>, r: Report): void {
    this.storage.dropHeld(); // writes held for the abandoned segment complete on the source only
    this.activityFor(r, this.s.timing.resumeTime, (t) => ({ type: 'resumed-source', now: t }));
  }

  cleanDestination(_a: A<'clean-destination'>, r: Report): void {
    this.storage.dropHeld();
    this.guest.ioPaused = false;
    const t = this.s.timing;
    // Reachable: ask the destination to delete its VM and files (it acts once back from a crash or a
    // stall). Unreachable: it notices the dead migration itself after the transfer timeout and cleans up.
    const now = this.now();
    const half = this.rtt / 2;
    const done = this.link.down && this.memoryMode && !this.dest.crashed ? now + t.transferTimeout : this.dest.availableAt(now + half) + half;
    this.activityFor(r, done - now + t.cleanupTime, (tt) => ({ type: 'destination-cleaned', now: tt }));
  }

  // -- side actions -----------------------------------------------------------------------------------------

  impair(a: A<'impair'>, r: Report): void {
    const { link, activity } = this;
    const now = this.now();
    let lost = false;
    switch (a.kind) {
      case 'link-down':
        link.fail();
        this.dest.linkLost(now);
        lost = true;
        break;
      case 'nic-down': {
        const { died, moved } = link.failNic();
        if (link.down) lost = true;
        else if (died.length > 0 && activity.striped) lost = !activity.restripe(died);
        else if (died.length > 0) activity.degrade(true);
        else if (moved.length > 0) activity.degrade(false); // a team moved the flows: nothing to resend
        break;
      }
      case 'channel-down': {
        const id = link.nextToFail;
        if (link.failChannel() === 'lost') lost = true;
        else if (activity.striped && id !== undefined) lost = !activity.restripe([id]);
        else activity.degrade(true);
        break;
      }
      case 'dest-crash':
        this.dest.crash(now);
        break;
      case 'dest-storage-error':
        this.dest.storageBroken = true;
        break;
      case 'auth-failure':
        break;
      case 'stall':
        this.dest.stall(now, this.s.timing.stallTime);
        if (!a.cuts) activity.delay(this.s.timing.stallTime);
        break;
    }
    if (lost) this.dest.linkLost(now);
    // The step in progress cannot complete: it stops now (the source notices later).
    if (a.cuts || lost) activity.cancel();
    r({ type: 'impaired', now, kind: a.kind, lost });
  }

  unstall(): void {
    // The destination model knows when the stall ends; the activity was re-timed when it struck.
  }

  finished(): void {
    const s = this.s;
    const summary = this.core.summary();
    this.guest.release();
    const mirrorOverLink = s.mode === 'shared-nothing' || (s.mode === 'storage' && this.storageWire > 0);
    this.output = {
      summary,
      memoryVerified: this.memoryVerified,
      writesLost: this.writesLost,
      writes: this.storage.counts,
      storageBytesCopied: this.bytesCopied,
      storageWireBytes: this.storageWire + (mirrorOverLink ? this.storage.counts.mirroredBytes : 0),
    };
    this.onFinished?.();
  }
}

/** Run one migration alone on a fresh simulator. */
export function runOnce(s: Scenario, faults: readonly ResolvedFault[], sim: Simulator): RunOutput {
  const m = new SimMigration(sim, s, faults);
  m.start();
  sim.run();
  return m.result();
}

export type { Cause };
