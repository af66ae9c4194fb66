// A small model world for testing the migration core through the drivers' loop: two hosts, a link, the
// VM (where it runs), each host's files, and a disk image whose guest writes the core's mirror routes. It
// keeps its own account of all of these, independently of the core's bookkeeping, so a test can hold the
// core's summary against what really happened. Each step takes a second when the world allows it.
import { Runner, type MigrationEffects, type Report } from '../../src/drivers/loop.js';
import { MigrationCore, type CoreTiming, type MigrationConfig } from '../../src/migration/core.js';
import type { Action, Event } from '../../src/migration/events.js';
import type { FaultKind } from '../../src/migration/faults.js';
import { POLICY_DEFAULTS } from '../../src/migration/policy.js';
import type { Mode } from '../../src/result.js';
import { Simulator } from '../../src/sim/index.js';
import { simClock } from '../../src/drivers/sim/run.js';

type A<T extends Action['type']> = Extract<Action, { type: T }>;

export const TIMING: CoreTiming = { detectTime: 0.5, replyTime: 0.1, transferTimeout: 3, stallTime: 5, resolveTimeout: 30 };
export const RESTART = 10;
const REGIONS = 12;

export function worldConfig(mode: Mode, timing: Partial<CoreTiming> = {}): MigrationConfig {
  return {
    mode,
    memory: mode === 'storage' ? null : { memoryPages: 100, policy: { ...POLICY_DEFAULTS, name: 'hyperv' }, onNoConverge: 'force', stateBytes: 10 },
    storage: mode === 'shared-nothing' || mode === 'storage' ? { regions: REGIONS, segmentRegions: 4, boundaries: [], destFiles: 1, sourceFiles: 2 } : null,
    configBytes: 100,
    timing: { ...TIMING, ...timing },
  };
}

/** Something to do `at` seconds (0-1) into the core's n-th step action. */
export interface Strike {
  step: number;
  at: number;
  event: { type: 'fault'; kind: FaultKind } | { type: 'failure'; cause: 'link_down' | 'dest_crash' | 'cancelled' } | { type: 'cancel' };
}

export class World implements MigrationEffects {
  readonly sim = new Simulator();
  readonly core: MigrationCore;
  readonly runner: Runner;
  readonly steps: string[] = [];
  // The world's own account.
  linkUp = true;
  destCrashedAt: number | null = null;
  stallUntil = -1;
  storageBroken = false;
  source: 'running' | 'paused' | 'stopped' = 'running';
  dest: 'none' | 'shell' | 'running' = 'none';
  destFiles = new Set<string>();
  sourceFiles = new Set(['vm.vmcx', 'disk0.vhdx']);
  /** Guest writes per region on each side's disk image (a counter per region). */
  readonly srcDisk = new Array<number>(REGIONS).fill(0);
  readonly dstDisk = new Array<number>(REGIONS).fill(0);
  private held: number[] = [];
  /** The resume request reached the destination (it then runs the VM) or was lost. */
  resumeReached: boolean | null = null;
  fenced = false;
  sourceFilesRemovedEarly = false;
  private writes = 0;

  constructor(
    readonly mode: Mode,
    private readonly strikes: Strike[] = [],
    timing: Partial<CoreTiming> = {},
  ) {
    this.core = new MigrationCore(worldConfig(mode, timing));
    this.runner = new Runner(this.core, this, simClock(this.sim));
  }

  run(): void {
    this.runner.start();
    this.sim.run(Infinity, 100_000);
  }

  private get now(): number {
    return this.sim.now;
  }

  private get reachable(): boolean {
    return this.linkUp && this.destCrashedAt === null && this.now >= this.stallUntil;
  }

  /** One guest write per step, routed by the core's mirror (the storage modes' VM writes to its disk). */
  private guestWrite(): void {
    const m = this.core.mirror;
    if (!m || this.source !== 'running' || this.dest === 'running') return;
    const region = this.writes++ % REGIONS;
    switch (m.route(region)) {
      case 'mirror':
        this.srcDisk[region]!++;
        this.dstDisk[region]!++;
        break;
      case 'hold':
        this.held.push(region);
        break;
      case 'source':
        this.srcDisk[region]!++;
        break;
      case 'destination':
        this.dstDisk[region]!++;
        break;
    }
  }

  /** A step begins: the guest writes once, and what is planned for this step strikes during it. */
  private begin(a: Action): number {
    const n = this.steps.push(a.type) - 1;
    this.guestWrite();
    for (const s of this.strikes.filter((x) => x.step === n)) {
      const ev = s.event;
      this.sim.at(this.now + s.at, () => this.runner.deliver(ev.type === 'fault' ? { type: 'fault', now: this.now, kind: ev.kind } : ev.type === 'cancel' ? { type: 'cancel', now: this.now } : { type: 'failure', now: this.now, cause: ev.cause }));
    }
    return n;
  }

  /** Call `fn` at `at`, or once the destination is back from a stall; never if it is cut off for good. */
  private whenReachable(at: number, fn: () => void): void {
    this.sim.at(at, () => {
      if (this.reachable) return fn();
      if (this.linkUp && this.destCrashedAt === null) this.whenReachable(this.stallUntil, fn);
    });
  }

  /** A step that completes after a second, when the world allows (else the core's deadlines decide). */
  private step(a: Action, r: Report, make: () => Event, needsDestination = true): void {
    this.begin(a);
    if (needsDestination) this.whenReachable(this.now + 1, () => r(make()));
    else this.sim.at(this.now + 1, () => r(make()));
  }

  setup(a: A<'setup'>, r: Report): void {
    if (this.mode !== 'storage') {
      this.dest = 'shell';
      this.destFiles.add('vm.vmcx');
    }
    this.step(a, r, () => ({ type: 'setup-done', now: this.now }));
  }

  copySegment(a: A<'copy-segment'>, r: Report): void {
    this.destFiles.add('disk0.vhdx');
    const copy = { start: a.start, end: a.end, data: this.srcDisk.slice(a.start, a.end) };
    this.step(a, r, () => {
      for (let i = copy.start; i < copy.end; i++) this.dstDisk[i] = copy.data[i - copy.start]!;
      for (const region of this.held.splice(0)) {
        this.srcDisk[region]!++;
        this.dstDisk[region]!++;
      }
      return { type: 'segment-copied', now: this.now };
    });
  }

  sync(a: A<'sync'>, r: Report): void {
    const first = !this.steps.includes('sync');
    this.step(a, r, () => ({ type: 'synced', now: this.now, pages: first ? 100 : a.final ? 3 : 5, zeroPages: 0 }), false);
  }

  send(a: A<'send'>, r: Report): void {
    this.step(a, r, () => ({ type: 'sent', now: this.now, pages: 100, zeroPages: 0, wireBytes: 410_000 }));
  }

  sendFinal(a: A<'send-final'>, r: Report): void {
    this.step(a, r, () => ({ type: 'sent', now: this.now, pages: 3, zeroPages: 0, wireBytes: 12_300 }));
  }

  pause(a: A<'pause'>, r: Report): void {
    this.source = 'paused';
    this.step(a, r, () => ({ type: 'paused', now: this.now }), false);
  }

  handoff(a: A<'handoff'>, r: Report): void {
    this.step(a, r, () => (this.storageBroken ? { type: 'failure', now: this.now, cause: 'dest_storage_error' } : { type: 'handed-off', now: this.now }));
  }

  resume(a: A<'resume'>, r: Report): void {
    this.step(a, r, () => ({ type: 'resumed', now: this.now }));
    // The request reaches the destination a quarter second in (after a stall, when it ends), unless the
    // link failed or the destination crashed first; a destination that has fenced the VM refuses it.
    const sent = this.now;
    this.sim.at(sent + 0.25, () => {
      if (!this.linkUp || this.destCrashedAt !== null) return void (this.resumeReached = false);
      this.whenReachable(this.now, () => {
        if (this.fenced) return;
        this.resumeReached = true;
        this.dest = 'running';
      });
    });
  }

  private flushHeld(): void {
    for (const region of this.held.splice(0)) this.srcDisk[region]!++;
  }

  queryOwner(a: A<'query-owner'>, r: Report): void {
    this.begin(a);
    // Over the management path: the destination answers once it is up (after a restart or a stall).
    const up = Math.max(this.now, this.destCrashedAt !== null ? this.destCrashedAt + RESTART : 0, this.stallUntil);
    this.sim.at(up + 0.1, () => {
      if (this.dest === 'running') return r({ type: 'owner', now: this.now, owner: 'destination', resumedAt: this.now });
      this.fenced = true;
      return r({ type: 'owner', now: this.now, owner: 'source', resumedAt: null });
    });
  }

  cleanup(a: A<'cleanup'>, r: Report): void {
    if (this.dest !== 'running' && this.mode !== 'storage') this.sourceFilesRemovedEarly = true;
    if (this.mode !== 'storage') this.source = 'stopped';
    // The source removes its own VM and files; it confirms over the management path.
    this.step(
      a,
      r,
      () => {
        if (this.mode === 'storage' || this.mode === 'shared-nothing') this.sourceFiles.clear();
        return { type: 'cleaned-up', now: this.now };
      },
      false,
    );
  }

  resumeSource(a: A<'resume-source'>, r: Report): void {
    this.flushHeld();
    this.step(a, r, () => {
      this.source = 'running';
      return { type: 'resumed-source', now: this.now };
    }, false);
  }

  cleanDestination(a: A<'clean-destination'>, r: Report): void {
    this.flushHeld();
    this.begin(a);
    // The destination deletes what it has: when asked, when back from a crash, or by itself once it
    // noticed the dead migration.
    const at = Math.max(this.now + 1, this.destCrashedAt !== null ? this.destCrashedAt + RESTART : 0, this.stallUntil);
    this.sim.at(at, () => {
      this.destFiles.clear();
      if (this.dest === 'shell') this.dest = 'none';
      r({ type: 'destination-cleaned', now: this.now });
    });
  }

  impair(a: A<'impair'>, r: Report): void {
    switch (a.kind) {
      case 'link-down':
      case 'nic-down':
      case 'channel-down':
        this.linkUp = false;
        break;
      case 'dest-crash':
        this.destCrashedAt = this.now;
        break;
      case 'dest-storage-error':
        this.storageBroken = true;
        break;
      case 'stall':
        this.stallUntil = this.now + this.core.cfg.timing.stallTime;
        break;
      case 'auth-failure':
        break;
    }
    r({ type: 'impaired', now: this.now, kind: a.kind, lost: !this.linkUp });
  }

  unstall(): void {
    this.stallUntil = Math.min(this.stallUntil, this.now);
  }

  finished(): void {}

  /** Writes that reached the source's disk but not the destination's (for a VM that runs there now). */
  lostWrites(): number {
    let lost = 0;
    for (let i = 0; i < REGIONS; i++) if (this.dstDisk[i]! < this.srcDisk[i]!) lost += this.srcDisk[i]! - this.dstDisk[i]!;
    return lost;
  }
}
