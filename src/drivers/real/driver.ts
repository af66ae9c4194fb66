// The wall-clock driver: the same MigrationCore as the simulator, its actions performed with a real guest
// (a worker writing shared memory), a real disk image with a writer worker, and the multichannel TCP
// transport to a destination process; events carry wall-clock seconds since the start. Failures (a lost
// session, the destination's errors, its process dying, a request timing out) cut the action in progress
// short and reach the core as `failure` events; the core then rolls back and the driver resumes the guest
// on the source and has the destination delete what it created. See docs/real.md.

import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDiskImage, REGION_BYTES, regionsOf, type DiskSpec } from '../../guest/real/disk.js';
import { RealGuest } from '../../guest/real/guest.js';
import type { FaultKind } from '../../migration/faults.js';
import { MigrationCore, type Action, type Cause, type Event } from '../../migration/orchestrator.js';
import { InterruptedError, MigbenchError, StateError } from '../../errors.js';
import { formatEndpoint } from '../../transport/tcp/address.js';
import { SenderSession, type SenderOptions } from '../../transport/tcp/sender.js';
import { PAGE_SIZE } from '../../units/index.js';
import type { Scenario } from '../../scenario.js';
import { DiskWriter } from './disk-writer.js';
import { FaultPlan, injectFault } from './faults.js';
import { DestinationError, DestinationLink } from './link.js';
import { LocalReceiver } from './local-receiver.js';
import { BufferPool, Staging } from './pages.js';
import { probeLink } from './probe.js';
import { deviceState, sendFinal, sendRound, syncMemory } from './memory.js';
import { cleanDestination } from './destination.js';
import { PROTOCOL_VERSION, STAGING_BYTES } from './protocol.js';
import { checkRealScenario, type RealMeasured, type RealOptions, type RealRun } from './options.js';
import { finishRun } from './finish.js';
import { StorageMove } from './storage-move.js';

/** A failure the driver noticed: becomes the core's `failure` event. */
export class Failure extends Error {
  constructor(
    readonly why: Cause,
    message: string,
    readonly at: number,
  ) {
    super(message);
  }
}

export async function migrateReal(o: RealOptions): Promise<RealRun> {
  checkRealScenario(o);
  const m = new RealMigration(o);
  try {
    return await m.execute();
  } finally {
    await m.teardown();
  }
}

export class RealMigration {
  readonly s: Scenario;
  readonly id = randomBytes(8).toString('hex');
  readonly vm = `vm-${this.id}`;
  readonly channels: number;
  /** Bytes per chunk on the channels (the transport's 1 MiB unless `chunkSize` says otherwise). */
  readonly chunkSize: number;
  readonly core: MigrationCore;
  readonly faults: FaultPlan;
  readonly log: (line: string) => void;
  guest!: RealGuest;
  disk: DiskWriter | null = null;
  diskSpec: DiskSpec | null = null;
  diskPath: string | null = null;
  /** The storage move's source side (shared-nothing with a disk), from prepare() on. */
  storage: StorageMove | null = null;
  receiver: LocalReceiver | null = null;
  key!: Buffer;
  session: SenderSession | null = null;
  link: DestinationLink | null = null;
  pool!: BufferPool;
  staging!: Staging;
  pending!: Uint32Array;
  logging = false;
  private t0 = 0;
  failure: Failure | null = null;
  private failWaiters: ((f: Failure) => void)[] = [];
  settled = false;
  injected: FaultKind | null = null;
  readonly deferred: FaultKind[] = [];
  private workDir: string | null = null;
  // What was measured and moved.
  configSent = 0;
  stateSent = 0;
  stateSha: string | null = null;
  /**
   * The setup action (session, then the destination creates the VM): a failure abandons the wait for it,
   * but the rollback must know what it left at the destination, so clean-up waits for it to settle.
   */
  setupInFlight: Promise<Event> | null = null;
  /** The device state stand-in (memory.ts deviceState), made before the timed migration. */
  state: Buffer | null = null;
  sourceDiskMoved: string | null = null;
  destFilesLeft: number | null = null;
  readonly measured: RealMeasured;

  constructor(readonly o: RealOptions) {
    this.s = o.scenario;
    this.channels = o.channels ?? 4;
    this.chunkSize = o.chunkSize ?? 2 ** 20;
    this.log = o.log ?? (() => undefined);
    const copies = this.s.mode === 'shared-nothing';
    const diskBytes = copies ? this.s.vm.files.filter((f) => f.kind !== 'config').reduce((t, f) => t + f.size, 0) : 0;
    this.core = new MigrationCore({
      mode: this.s.mode,
      memory: { memoryPages: this.s.memoryBytes / PAGE_SIZE, policy: this.s.policy, onNoConverge: this.s.onNoConverge, stateBytes: this.s.timing.stateBytes },
      storage: copies ? { regions: regionsOf(diskBytes), segmentRegions: Math.max(1, Math.round(this.s.storage.segmentBytes / REGION_BYTES)), boundaries: [], destFiles: 1, sourceFiles: 1 } : null,
      configBytes: this.s.timing.configBytes,
    });
    if (copies) this.diskSpec = { bytes: diskBytes, allocated: this.s.vm.files.find((f) => f.kind !== 'config')!.allocated, seed: this.s.seed, io: this.s.workload.io };
    this.faults = new FaultPlan(this.s.faults, (kind) => injectFault(this, kind), () => this.core.currentPhase);
    this.measured = {
      channels: this.channels,
      rate_bps: o.rate ?? null,
      targets: [],
      link_goodput_bps: null,
      page_path_goodput_bps: null,
      zero_scan_bps: null,
      run_cost_s: null,
      control_rtt_s: null,
      round0_goodput_bps: null,
      phases: { config_s: 0, storage_copy_s: 0, precopy_s: 0, blackout_s: 0, handoff_s: 0, cleanup_s: 0 },
      dest_prepare_s: null,
      dest_memory_reserved: null,
      dest_resume_s: null,
      bytes_resent: 0,
      channels_failed: [],
      hashes: { source_ram: null, dest_ram: null, source_disk: null, dest_disk: null, state: null, dest_state: null },
      source_intact: { memory: null, disk: null },
      guest_writes: 0,
      disk_writes: 0,
      held_writes: 0,
      verify_s: 0,
      notes: [],
    };
  }

  now(): number {
    return (performance.now() - this.t0) / 1000;
  }

  get ramBytes(): number {
    return this.s.memoryBytes;
  }

  // -- lifecycle ------------------------------------------------------------------------------------

  async execute(): Promise<RealRun> {
    const signal = this.o.signal;
    if (signal?.aborted) throw new InterruptedError('migration cancelled before it started');
    await this.prepare();
    if (signal?.aborted) throw new InterruptedError('migration cancelled before it started (nothing was moved)');
    const cancel = () => {
      const phase = this.core.currentPhase;
      // From the handoff on the destination may already run the VM (its answer to `resume` can be in
      // flight): an operator's cancel then lets the migration complete rather than risk two running VMs.
      if (phase === 'handoff' || phase === 'cleanup') this.log('cancel ignored: the switch-over to the destination has begun; the migration completes');
      else if (phase === 'rollback' || phase === 'done') this.log('cancel ignored: the migration is already ending');
      else this.fail('cancelled', 'cancelled by the operator');
    };
    signal?.addEventListener('abort', cancel, { once: true });
    try {
      return await this.migrate();
    } finally {
      signal?.removeEventListener('abort', cancel);
    }
  }

  private async migrate(): Promise<RealRun> {
    this.log(`migrating ${this.ramBytes} bytes of memory${this.diskSpec ? ` and a ${this.diskSpec.bytes}-byte disk` : ''} over ${this.channels} channel(s) to ${this.measured.targets.join(', ')}`);
    this.t0 = performance.now();
    this.faults.startClock();
    let action = this.core.start(0);
    for (let steps = 0; action.type !== 'done'; steps++) {
      if (steps > 1_000_000) throw new StateError('the migration did not finish');
      const ev = await this.perform(action);
      action = this.core.handle(ev);
      this.storage?.publish();
    }
    this.settled = true;
    this.faults.stop();
    return finishRun(this);
  }

  /** Untimed: the guest, its disk, the destination and the link probe. */
  private async prepare(): Promise<void> {
    this.workDir = mkdtempSync(join(tmpdir(), 'migbench-real-'));
    this.guest = await RealGuest.start({ bytes: this.ramBytes, workload: this.s.workload, seed: this.s.seed });
    this.pending = new Uint32Array(this.guest.ram.bitmap.length);
    this.staging = new Staging(this.ramBytes + (this.diskSpec?.bytes ?? 0));
    const window = this.o.window ?? 8 * 2 ** 20;
    this.pool = new BufferPool(2 ** 20, Math.max(64, (2 * this.channels * window) / 2 ** 20) + 16);
    if (this.diskSpec) {
      const dir = this.o.sourceDir ?? join(this.workDir, 'source');
      mkdirSync(dir, { recursive: true });
      this.diskPath = join(dir, `${this.vm}-disk0.img`);
      createDiskImage(this.diskPath, this.diskSpec);
      const storage = (this.storage = new StorageMove(this, this.diskPath));
      this.disk = await DiskWriter.start(this.diskPath, this.diskSpec, (offset, data) => storage.mirror(offset, data));
    }
    if (this.o.to) {
      if (!this.o.key) throw new MigbenchError('E_INPUT', '--key-file: a pre-shared key is needed for --to (or MIGBENCH_KEY)');
      this.key = this.o.key;
    } else {
      const dir = this.o.destDir ?? join(this.workDir, 'destination');
      mkdirSync(dir, { recursive: true });
      const reserve = this.o.destReserve ?? true;
      this.measured.dest_memory_reserved = reserve;
      this.receiver = await LocalReceiver.spawn(dir, undefined, reserve ? this.ramBytes : 0, this.s.faults.length > 0);
      this.key = this.receiver.key;
      this.receiver.onExit((e) => this.fail('dest_crash', `the destination process died (${e.signal ?? `exit ${e.code}`})`));
    }
    this.measured.targets = this.targets().map((t) => formatEndpoint(t));
    await probeLink(this);
    deviceState(this, this.s.timing.stateBytes);
  }

  targets(): { host: string; port: number; localAddress?: string }[] {
    const to = this.o.to ?? [this.receiver!.endpoint];
    const bind = this.o.bind ?? [];
    return to.map((t, i) => ({ ...t, ...(bind.length > 0 ? { localAddress: bind.length === 1 ? bind[0]! : bind[i]! } : {}) }));
  }

  sessionOptions(size: number, key = this.key, channels = this.channels): SenderOptions {
    const targets = this.targets();
    return {
      targets,
      channelsPerTarget: channels / targets.length,
      key,
      size,
      chunkSize: this.chunkSize,
      window: this.o.window ?? 8 * 2 ** 20,
      channelTimeout: this.s.timing.transferTimeout,
      connectTimeout: Math.min(30, this.s.timing.transferTimeout),
      ...(this.o.rate !== undefined ? { rate: this.o.rate / channels } : {}),
    };
  }

  async teardown(): Promise<void> {
    this.settled = true;
    this.faults.stop();
    this.link?.close(new StateError('the migration is over'));
    this.session?.close();
    this.storage?.close();
    await this.receiver?.stop();
    if (this.o.keepSource && this.guest) return;
    await this.releaseSource();
  }

  async releaseSource(): Promise<void> {
    await this.guest?.stop();
    await this.disk?.stop();
    if (this.workDir) rmSync(this.workDir, { recursive: true, force: true });
    this.workDir = null;
  }

  // -- failures ---------------------------------------------------------------------------------------

  fail(why: Cause, message: string): void {
    if (this.failure || this.settled) return;
    this.failure = new Failure(why, message, this.now());
    this.log(`failure (${why}): ${message}`);
    for (const w of this.failWaiters.splice(0)) w(this.failure);
  }

  /** The cause of a lost session, from what was injected and what the local receiver did. */
  classify(): Cause {
    if (this.injected === 'link-down') return 'link_down';
    if (this.injected === 'dest-crash' || this.receiver?.exited) return 'dest_crash';
    if (this.injected === 'stall') return 'stall_timeout';
    return 'all_channels_lost';
  }

  private asFailure(e: unknown): unknown {
    if (e instanceof Failure) return e;
    if (e instanceof DestinationError) this.fail(e.timedOut ? 'stall_timeout' : (e.failure ?? 'dest_refused'), e.message);
    else if (e instanceof MigbenchError && ['E_TRANSPORT', 'E_PROTOCOL', 'E_AUTH'].includes(e.code)) this.fail(this.classify(), e.message);
    else return e;
    return this.failure;
  }

  private guard<T>(p: Promise<T>): Promise<T> {
    p.catch(() => undefined);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<T>((resolve, reject) => {
      this.failWaiters.push(reject);
      p.then(resolve, (e: unknown) => reject(this.failure ?? this.asFailure(e)));
    });
  }

  check(): void {
    if (this.failure) throw this.failure;
  }

  // -- actions ----------------------------------------------------------------------------------------

  private async perform(a: Action): Promise<Event> {
    if (a.type === 'resume-source') return this.resumeSource();
    if (a.type === 'clean-destination') return cleanDestination(this);
    try {
      return await this.guard(this.forward(a));
    } catch (e) {
      const f = e instanceof Failure ? e : this.asFailure(e);
      if (f instanceof Failure) return { type: 'failure', now: f.at, cause: f.why };
      throw f;
    }
  }

  private async forward(a: Action): Promise<Event> {
    switch (a.type) {
      case 'setup':
        return (this.setupInFlight = this.setup());
      case 'copy-segment':
        return this.storage!.copySegment(a.start, a.end);
      case 'sync':
        return syncMemory(this);
      case 'send':
        return sendRound(this, a.round, a.throttle);
      case 'pause':
        await Promise.all([this.guest.pause(), this.disk?.pause()]);
        this.faults.progress('blackout', 0);
        return { type: 'paused', now: this.now() };
      case 'send-final':
        return sendFinal(this, a.stateBytes);
      case 'handoff':
        this.faults.progress('handoff', 1);
        await this.link!.request({ t: 'handoff' });
        return { type: 'handed-off', now: this.now() };
      case 'resume': {
        const asked = process.hrtime.bigint();
        const r = await this.link!.request({ t: 'resume' });
        const now = this.now();
        if (this.receiver) this.measured.dest_resume_s = Number(BigInt(String(r['at'])) - asked) / 1e9;
        return { type: 'resumed', now };
      }
      case 'cleanup':
        return this.cleanup();
      default:
        throw new StateError(`unexpected action ${a.type}`);
    }
  }

  private async setup(): Promise<Event> {
    const wrong = this.faults.takes('config', 'auth-failure');
    if (wrong) {
      this.injected = 'auth-failure';
      this.faults.noteApplied();
    }
    const key = wrong ? Buffer.from(randomBytes(32).toString('hex')) : this.key;
    let s: SenderSession;
    try {
      s = await SenderSession.open(this.sessionOptions(this.ramBytes + (this.diskSpec?.bytes ?? 0) + STAGING_BYTES + this.s.timing.stateBytes, key));
    } catch (e) {
      const err = e as MigbenchError;
      this.fail(err.code === 'E_AUTH' ? 'auth_failure' : this.classify(), err.message);
      throw this.failure;
    }
    this.session = s;
    s.on('failed', (e: Error) => this.fail(this.classify(), e.message));
    s.on('channel-failed', (e: { channel: number; reason: string }) => {
      this.measured.channels_failed.push(`channel ${e.channel}: ${e.reason}`);
      this.log(`channel ${e.channel} failed (${e.reason}); its chunks go to the other channels`);
    });
    this.link = new DestinationLink(s, this.s.timing.transferTimeout);
    this.link.errors((cause, message) => this.fail(cause, message));
    for (const kind of this.deferred.splice(0)) injectFault(this, kind);
    this.faults.progress('config', 1);
    const config = configBlob(this.s.timing.configBytes, this.vm);
    const r = await this.link.request(
      { t: 'hello', kind: 'migrate', version: PROTOCOL_VERSION, id: this.id, vm: this.vm, ramBytes: this.ramBytes, diskBytes: this.diskSpec?.bytes ?? 0, stateBytes: this.s.timing.stateBytes, stagingBytes: STAGING_BYTES },
      config,
      Math.max(this.s.timing.transferTimeout, 60),
    );
    this.configSent = config.length;
    this.measured.dest_prepare_s = Number(r['prepSeconds']);
    return { type: 'setup-done', now: this.now() };
  }

  /** The barrier: everything written so far is on the destination; staging slots are free again. */
  async flush(): Promise<void> {
    await this.session!.flush();
    this.staging.barrierPassed();
  }

  private async cleanup(): Promise<Event> {
    this.faults.progress('cleanup', 1);
    // The VM now runs on the destination: the source's VM goes; its disk image is set aside, and removed
    // only once the destination's copy is verified (finish.ts).
    await this.guest.stop();
    await this.disk?.stop();
    await this.link!.request({ t: 'done' });
    if (this.diskPath) {
      this.sourceDiskMoved = `${this.diskPath}.migrated`;
      renameSync(this.diskPath, this.sourceDiskMoved);
    }
    return { type: 'cleaned-up', now: this.now() };
  }

  private resumeSource(): Event {
    this.guest.throttle(0);
    this.guest.resume();
    this.disk?.resume();
    return { type: 'resumed-source', now: this.now() };
  }
}

/** The VM configuration sent at setup: a small JSON description padded to `bytes`. */
function configBlob(bytes: number, vm: string): Buffer {
  const b = Buffer.alloc(bytes, 0x20);
  b.write(JSON.stringify({ vm, generator: 'migbench' }).slice(0, bytes));
  return b;
}
