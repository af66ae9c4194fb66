// Controls a real guest (guest-worker.ts) from the migration driver: start it, pause it (waiting for its
// acknowledgement, so no write happens after `pause()` resolves), resume, throttle, stop.

import { Worker } from 'node:worker_threads';
import { MigbenchError } from '../../errors.js';
import type { WorkloadSpec } from '../workload.js';
import { WorkloadModel } from '../workload.js';
import { Rng } from '../../random/index.js';
import { CTL, GuestRam, PAUSED, PAUSE_REQUESTED, RUN, STOPPED, STOP_REQUESTED } from './ram.js';
import type { GuestWorkerData } from './guest-worker.js';
import { threadCpuSeconds } from './thread-cpu.js';
import { compiledSibling } from './worker-url.js';
import { expectedRamSha256, type WriterRegion } from './writer.js';

// Atomics.waitAsync exists in Node 20 but TypeScript types it only from lib ES2024, which would also admit
// APIs Node 20 lacks; type just this one function.
type WaitAsync = (a: Int32Array, index: number, value: number, timeout?: number) => { async: boolean; value: Promise<string> | string };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

export interface GuestSpec {
  bytes: number;
  zeroFraction: number;
  seed: number;
  regions: WriterRegion[];
}

export class RealGuest {
  private stopped = false;
  /** The guest thread's CPU seconds when it stopped (its thread is gone after). */
  private finalCpu: number | null = null;

  private constructor(
    readonly ram: GuestRam,
    private readonly worker: Worker,
    /** What the guest is made of: enough to rebuild its RAM from its write count (writer.ts). */
    readonly spec: GuestSpec,
    /** The guest thread's kernel thread id (null: not known here). */
    private readonly tid: number | null,
  ) {}

  static async start(o: { bytes: number; workload: WorkloadSpec; seed: number }): Promise<RealGuest> {
    const ram = GuestRam.create(o.bytes, o.workload.zeroFraction, o.seed);
    const model = new WorkloadModel(o.workload, ram.pages, Rng.stream(o.seed, 'workload'));
    const data: GuestWorkerData = { ram: ram.describe(), regions: model.regions.map((r) => ({ ...r })), seed: o.seed };
    const worker = new Worker(compiledSibling(import.meta.url, 'guest-worker.js'), { workerData: data });
    const tid = await new Promise<number | null>((resolve, reject) => {
      worker.once('message', (m: { tid?: number | null }) => resolve(typeof m?.tid === 'number' ? m.tid : null));
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new MigbenchError('E_STATE', `guest worker exited early (${code})`)));
    });
    worker.removeAllListeners('exit');
    worker.removeAllListeners('error');
    return new RealGuest(ram, worker, { bytes: o.bytes, zeroFraction: o.workload.zeroFraction, seed: o.seed, regions: data.regions }, tid);
  }

  /** CPU seconds the guest's thread has used so far (null where the kernel does not say). */
  cpuSeconds(): number | null {
    return this.finalCpu ?? threadCpuSeconds(this.tid);
  }

  /** Writes done so far (exact while the guest is paused or stopped). */
  get writes(): number {
    return Atomics.load(this.ram.control, CTL.writes) >>> 0;
  }

  /**
   * Check the RAM against a replay of the guest's own writes (the guest must be paused or stopped): its
   * SHA-256 must equal that of the initial image with exactly `writes` writes applied. This proves that
   * nothing but the guest touched its memory (a migration that rolled back left it intact). Costs a
   * second copy of the RAM while it runs.
   */
  checkIntact(): { ok: boolean; writes: number; sha256: string; expected: string } {
    const state = Atomics.load(this.ram.control, CTL.state);
    if (state !== PAUSED && state !== STOPPED) throw new MigbenchError('E_STATE', 'checkIntact() needs a paused or stopped guest');
    const writes = this.writes;
    const sha256 = this.ram.sha256();
    const expected = expectedRamSha256({ ...this.spec, writes });
    return { ok: sha256 === expected, writes, sha256, expected };
  }

  get running(): boolean {
    return !this.stopped && Atomics.load(this.ram.control, CTL.state) === RUN;
  }

  /** Ask the guest to pause and wait until it has (no write happens after this resolves). */
  async pause(): Promise<void> {
    const ctl = this.ram.control;
    Atomics.store(ctl, CTL.state, PAUSE_REQUESTED);
    Atomics.notify(ctl, CTL.state);
    for (let i = 0; i < 10_000 && Atomics.load(ctl, CTL.state) !== PAUSED; i++) {
      const r = waitAsync(ctl, CTL.state, PAUSE_REQUESTED, 10);
      if (r.async) await r.value;
    }
    if (Atomics.load(ctl, CTL.state) !== PAUSED) throw new MigbenchError('E_STATE', 'the guest did not acknowledge the pause');
  }

  resume(): void {
    Atomics.store(this.ram.control, CTL.state, RUN);
    Atomics.notify(this.ram.control, CTL.state);
  }

  /** Slow the guest's writes by `fraction` (0..0.99). */
  throttle(fraction: number): void {
    Atomics.store(this.ram.control, CTL.throttle, Math.round(Math.min(0.99, Math.max(0, fraction)) * 100));
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const ctl = this.ram.control;
    Atomics.store(ctl, CTL.state, STOP_REQUESTED);
    Atomics.notify(ctl, CTL.state);
    for (let i = 0; i < 500 && Atomics.load(ctl, CTL.state) !== STOPPED; i++) {
      const r = waitAsync(ctl, CTL.state, STOP_REQUESTED, 10);
      if (r.async) await r.value;
    }
    // The thread wrote its own CPU as it stopped (it may be gone already).
    const ms = Atomics.load(ctl, CTL.state) === STOPPED ? Atomics.load(ctl, CTL.cpuMsAtStop) : -1;
    this.finalCpu = ms >= 0 ? ms / 1000 : threadCpuSeconds(this.tid);
    await this.worker.terminate();
  }
}
