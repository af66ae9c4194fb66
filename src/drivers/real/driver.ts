// The wall-clock driver: the same MigrationCore and loop as the simulator, the core's actions carried out
// by the real engine's roles: the source's memory (a worker writing shared memory; memory.ts), the storage
// move (a disk image with a writer worker; storage-move.ts), and the destination (a process reached over
// the multichannel TCP transport; destination.ts). Events carry wall-clock seconds since the start.
// Failures the world shows (a lost session, the destination's errors, its process dying, a request timing
// out) reach the core as `failure` events; the core decides what follows. See docs/real.md.

import { mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDiskImage, REGION_BYTES, regionsOf, type DiskSpec } from '../../guest/real/disk.js';
import { MigrationCore } from '../../migration/core.js';
import type { Action, Cause, Event, StepAction } from '../../migration/events.js';
import { InterruptedError } from '../../errors.js';
import { PAGE_SIZE } from '../../units/index.js';
import { Runner, type Clock, type MigrationEffects, type Report } from '../loop.js';
import { Abandoned, isTransportError, RealContext } from './context.js';
import { CauseError, DestinationControl } from './destination.js';
import { finishRun } from './finish.js';
import { processCpuSeconds } from '../../guest/real/thread-cpu.js';
import { FaultPlan } from './faults.js';
import { DestinationError } from './link.js';
import { SourceMemory } from './memory.js';
import { checkRealScenario, type RealOptions, type RealRun } from './options.js';
import { probeLink } from './probe.js';
import { STAGING_BYTES } from './protocol.js';
import { StorageMove } from './storage-move.js';

type A<T extends Action['type']> = Extract<Action, { type: T }>;

/** The wall clock for the loop (seconds). */
export const wallClock: Clock = {
  now: () => performance.now() / 1000,
  at: (t, fn) => setTimeout(fn, Math.max(0, (t - performance.now() / 1000) * 1000)),
  cancel: (h) => clearTimeout(h as NodeJS.Timeout),
};

export async function migrateReal(o: RealOptions): Promise<RealRun> {
  checkRealScenario(o);
  const m = new RealMigration(o);
  let handed = false;
  try {
    const run = await m.execute();
    handed = o.keepSource === true;
    return run;
  } finally {
    await m.teardown(handed);
  }
}

/** One real migration: the roles, the core and the loop, and the effects the loop calls. */
export class RealMigration implements MigrationEffects {
  readonly ctx: RealContext;
  readonly core: MigrationCore;
  readonly dest: DestinationControl;
  readonly faults: FaultPlan;
  memory!: SourceMemory;
  storage: StorageMove | null = null;
  private readonly diskSpec: DiskSpec | null;
  private runner!: Runner;
  private workDir: string | null = null;
  private failed = false;
  private finishedRun: { resolve: () => void; reject: (e: unknown) => void } | null = null;
  /** The source's disk image, set aside at the clean-up until its copy is verified (finish.ts). */
  sourceDiskMoved: string | null = null;
  /** CPU seconds of the timed migration in this process, the guest's threads left out (null: not measured). */
  sourceCpu: number | null = null;

  constructor(readonly o: RealOptions) {
    const ctx = (this.ctx = new RealContext(o));
    const s = ctx.s;
    const copies = s.mode === 'shared-nothing';
    const diskBytes = copies ? s.vm.files.filter((f) => f.kind !== 'config').reduce((t, f) => t + f.size, 0) : 0;
    this.diskSpec = copies ? { bytes: diskBytes, allocated: s.vm.files.find((f) => f.kind !== 'config')!.allocated, seed: s.seed, io: s.workload.io } : null;
    const t = s.timing;
    this.core = new MigrationCore({
      mode: s.mode,
      memory: { memoryPages: s.memoryBytes / PAGE_SIZE, policy: s.policy, onNoConverge: s.onNoConverge, stateBytes: t.stateBytes },
      storage: copies ? { regions: regionsOf(diskBytes), segmentRegions: Math.max(1, Math.round(s.storage.segmentBytes / REGION_BYTES)), boundaries: [], destFiles: 1, sourceFiles: 1 } : null,
      configBytes: t.configBytes,
      // Failures are observed, not modelled (no detection time); the core still owns the transfer
      // timeout of a stall, the stall's end and the in-doubt bound.
      timing: { detectTime: null, replyTime: 0, transferTimeout: t.transferTimeout, stallTime: t.stallTime, resolveTimeout: t.transferTimeout + t.destRestartTime },
    });
    this.dest = new DestinationControl(ctx);
    this.dest.diskBytes = diskBytes;
    this.faults = new FaultPlan(s.faults, (kind) => this.deliver({ type: 'fault', now: ctx.now(), kind }));
  }

  get session() {
    return this.dest.session;
  }

  // -- lifecycle ------------------------------------------------------------------------------------

  async execute(): Promise<RealRun> {
    const signal = this.o.signal;
    if (signal?.aborted) throw new InterruptedError('migration cancelled before it started');
    await this.prepare();
    if (signal?.aborted) throw new InterruptedError('migration cancelled before it started (nothing was moved)');
    const cancel = () => {
      const decision = this.core.cancelDecision();
      if (decision === 'too-late') this.ctx.log('cancel ignored: the switch-over to the destination has begun; the migration completes');
      else if (decision === 'ending') this.ctx.log('cancel ignored: the migration is already ending');
      else this.ctx.noteFailure('cancelled', 'cancelled by the operator');
      this.runner.deliver({ type: 'cancel', now: this.ctx.now() });
    };
    signal?.addEventListener('abort', cancel, { once: true });
    const cpu0 = this.cpuNow();
    try {
      await this.migrate();
    } finally {
      signal?.removeEventListener('abort', cancel);
    }
    const cpu1 = this.cpuNow();
    if (cpu0 && cpu1) this.sourceCpu = Math.max(0, cpu1.process - cpu0.process - (cpu1.guest - cpu0.guest));
    this.o.onMigrated?.();
    if (this.o.beforeVerify) await this.o.beforeVerify();
    return finishRun(this);
  }

  /**
   * This process's CPU seconds and its guest's threads' (the memory writer, the disk IO), or null where
   * they cannot be told apart (no per-thread counts, or other migrations in this process: measureCpu).
   */
  private cpuNow(): { process: number; guest: number } | null {
    if (this.o.measureCpu === false) return null;
    const guest = this.memory.guest.cpuSeconds();
    const disk = this.storage ? this.storage.disk.cpuSeconds() : 0;
    if (guest === null || disk === null) return null;
    return { process: processCpuSeconds(), guest: guest + disk };
  }

  /** Untimed: the guest, its disk, the destination and the link probe. */
  private async prepare(): Promise<void> {
    const { ctx } = this;
    this.workDir = mkdtempSync(join(tmpdir(), 'migbench-real-'));
    this.memory = await SourceMemory.start(ctx, this.diskSpec?.bytes ?? 0);
    if (this.diskSpec) {
      const dir = this.o.sourceDir ?? join(this.workDir, 'source');
      mkdirSync(dir, { recursive: true });
      const path = join(dir, `${ctx.vm}-disk0.img`);
      createDiskImage(path, this.diskSpec);
      this.storage = await StorageMove.start(ctx, this.diskSpec, path, {
        session: () => this.dest.session,
        pool: this.memory.pool,
        mirror: this.core.mirror!,
        faults: this.faults,
        flush: () => this.memory.flush(this.dest.session!),
        failed: () => this.failed,
      });
    }
    await this.dest.prepare(this.workDir);
    await probeLink(ctx, this.dest, this.memory.pool);
    if (this.o.beforeMigrating) await this.o.beforeMigrating();
  }

  private migrate(): Promise<void> {
    const { ctx } = this;
    return new Promise<void>((resolve, reject) => {
      this.finishedRun = { resolve, reject };
      this.runner = new Runner(this.core, this, wallClock);
      ctx.begin((ev) => this.deliver(ev));
      this.faults.startClock();
      this.runner.start();
      ctx.log(`migrating ${ctx.ramBytes} bytes of memory${this.diskSpec ? ` and a ${this.diskSpec.bytes}-byte disk` : ''} over ${ctx.channels} channel(s) to ${ctx.measured.targets.join(', ')}`);
    });
  }

  /** After the run: close everything; the source's guest, disk and files too unless handed to the caller. */
  async teardown(keepSource: boolean): Promise<void> {
    this.faults.stop();
    this.storage?.close();
    await this.dest.close();
    if (!keepSource) await this.releaseSource();
  }

  async releaseSource(): Promise<void> {
    await this.memory?.guest.stop();
    await this.storage?.disk.stop();
    if (this.workDir) rmSync(this.workDir, { recursive: true, force: true });
    this.workDir = null;
  }

  // -- carrying out the core's actions ----------------------------------------------------------------

  /** An event from the world (a failure, a fault, a cancel) to the core; the disk writer learns the mirror's state. */
  private deliver(ev: Event): boolean {
    if (this.runner.finished) return false;
    if (ev.type === 'failure') this.failed = true;
    this.runner.deliver(ev);
    this.storage?.publish();
    return true;
  }

  /**
   * Run a step's work; report its event, or the failure it met. `check` throws Abandoned once the core
   * has moved on from this step (a failure while it was in progress). A bug rejects the whole run.
   */
  private step(a: StepAction, r: Report, work: (check: () => void) => Promise<Event> | Event): void {
    this.storage?.publish();
    const check = () => {
      if (this.runner.current !== a) throw new Abandoned();
    };
    const report = (ev: Event) => {
      if (ev.type === 'failure') this.failed = true;
      r(ev);
      this.storage?.publish();
    };
    Promise.resolve()
      .then(() => work(check))
      .then(report, (e: unknown) => {
        if (e instanceof Abandoned || this.runner.current !== a) return;
        const cause = this.causeOf(e);
        if (cause === null) return this.finishedRun?.reject(e);
        this.ctx.noteFailure(cause, (e as Error).message);
        report({ type: 'failure', now: this.ctx.now(), cause });
      });
  }

  /** The cause of a step's error (null: a bug, not a failure of the world). */
  private causeOf(e: unknown): Cause | null {
    if (e instanceof CauseError) return e.why;
    if (e instanceof DestinationError) return e.timedOut ? 'stall_timeout' : (e.failure ?? 'dest_refused');
    if (isTransportError(e)) return this.dest.classify();
    return null;
  }

  setup(a: A<'setup'>, r: Report): void {
    this.step(a, r, async () => {
      this.faults.strikeNow('config', 'auth-failure'); // it strikes as the channels connect
      await this.dest.setup(this.ctx.ramBytes + (this.diskSpec?.bytes ?? 0) + STAGING_BYTES + this.ctx.s.timing.stateBytes, () => this.faults.progress('config', 1));
      return { type: 'setup-done', now: this.ctx.now() };
    });
  }

  copySegment(a: A<'copy-segment'>, r: Report): void {
    this.step(a, r, (check) => this.storage!.copySegment(a.start, a.end, check));
  }

  sync(a: A<'sync'>, r: Report): void {
    this.step(a, r, () => this.memory.sync());
  }

  send(a: A<'send'>, r: Report): void {
    this.step(a, r, (check) => this.memory.sendRound(this.dest.session!, this.faults, check, a.round, a.throttle));
  }

  pause(a: A<'pause'>, r: Report): void {
    this.step(a, r, async () => {
      await Promise.all([this.memory.guest.pause(), this.storage?.disk.pause()]);
      this.faults.progress('blackout', 0);
      return { type: 'paused', now: this.ctx.now() };
    });
  }

  sendFinal(a: A<'send-final'>, r: Report): void {
    this.step(a, r, (check) => this.memory.sendFinal(this.dest.session!, this.faults, check, a.stateBytes));
  }

  handoff(a: A<'handoff'>, r: Report): void {
    this.step(a, r, async () => {
      this.faults.progress('handoff', 1);
      await this.dest.handoff();
      return { type: 'handed-off', now: this.ctx.now() };
    });
  }

  resume(a: A<'resume'>, r: Report): void {
    this.step(a, r, async () => {
      // These strike at the destination as the request arrives: armed there first (see DestinationControl.impair).
      for (const [kind, armed] of [['dest-crash', 'crash'], ['link-down', 'link-down']] as const) {
        if (!this.faults.awaits('resume', kind)) continue;
        await this.dest.armOnResume(armed);
        this.faults.strikeNow('resume', kind);
      }
      this.faults.strikeNow('resume', 'stall');
      const now = await this.dest.resume(() => this.faults.progress('resume', 1));
      return { type: 'resumed', now };
    });
  }

  queryOwner(a: A<'query-owner'>, r: Report): void {
    this.step(a, r, async () => {
      const { owner, resumedAt } = await this.dest.owner(this.core.cfg.timing.resolveTimeout);
      return { type: 'owner', now: this.ctx.now(), owner, resumedAt };
    });
  }

  cleanup(a: A<'cleanup'>, r: Report): void {
    this.step(a, r, async () => {
      this.faults.progress('cleanup', 1);
      // The VM now runs on the destination: the source's VM goes; its disk image is set aside, and removed
      // only once the destination's copy is verified (finish.ts).
      await this.memory.guest.stop();
      await this.storage?.disk.stop();
      // After an in-doubt resume the destination's word came over a fresh session: the end is confirmed so too.
      await this.dest.done(this.core.inDoubtResolved());
      if (this.storage) {
        this.sourceDiskMoved = `${this.storage.path}.migrated`;
        renameSync(this.storage.path, this.sourceDiskMoved);
      }
      return { type: 'cleaned-up', now: this.ctx.now() };
    });
  }

  resumeSource(a: A<'resume-source'>, r: Report): void {
    this.step(a, r, () => {
      const guest = this.memory.guest;
      guest.throttle(0);
      guest.resume();
      this.storage?.disk.resume();
      return { type: 'resumed-source', now: this.ctx.now() };
    });
  }

  cleanDestination(a: A<'clean-destination'>, r: Report): void {
    this.step(a, r, async () => {
      await this.dest.clean();
      return { type: 'destination-cleaned', now: this.ctx.now() };
    });
  }

  impair(a: A<'impair'>, r: Report): void {
    const lost = this.dest.impair(a.kind, a.phase);
    r({ type: 'impaired', now: this.ctx.now(), kind: a.kind, lost });
  }

  unstall(): void {
    this.dest.unstall();
  }

  finished(): void {
    this.faults.stop();
    // An injected stall ends with the migration (the checks that follow need the destination).
    this.dest.unstall();
    this.storage?.publish();
    this.finishedRun?.resolve();
  }
}
