// The driver's handle on the guest's storage IO (disk-worker.ts): start it on a source image, publish the
// storage mirror's state to it, take its mirrored writes to the destination, pause / resume / stop it,
// and read its counters. The copier's half of the copy-vs-write handshake is `beginSegment`.

import { Worker } from 'node:worker_threads';
import { threadCpuSeconds } from '../../guest/real/thread-cpu.js';
import { MigbenchError } from '../../errors.js';
import { compiledSibling } from '../../guest/real/worker-url.js';
import type { DiskSpec } from '../../guest/real/disk.js';
import type { MirrorState } from '../../migration/storage.js';
import {
  MIRROR_ALL,
  MIRROR_COPYING,
  MIRROR_OFF,
  MIRROR_SWITCHED,
  PAUSED,
  PAUSE_REQUESTED,
  QUEUE_DEPTH,
  RUN,
  SHARED_INTS,
  STOPPED,
  STOP_REQUESTED,
  W,
  type DiskWorkerData,
  type ToMain,
  type ToWorker,
} from './disk-shared.js';

type WaitAsync = (a: Int32Array, index: number, value: number, timeout?: number) => { async: boolean; value: Promise<string> | string };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

/** Sends one mirrored write to the destination; resolves true once the destination holds it. */
export type MirrorSink = (offset: number, data: Buffer) => Promise<boolean>;

export interface DiskCounts {
  writes: number;
  mirroredWrites: number;
  mirroredBytes: number;
  heldWrites: number;
  mirrorFailed: number;
}

export class DiskWriter {
  private readonly s: Int32Array;
  private readonly bytes: Float64Array;
  private error: string | undefined;
  private stopped = false;
  /** The worker thread's CPU seconds when it stopped (its thread is gone after). */
  private finalCpu: number | null = null;

  private constructor(
    private readonly worker: Worker,
    /** The worker's kernel thread id (null: not known here). */
    private readonly tid: number | null,
    shared: SharedArrayBuffer,
    bytes: SharedArrayBuffer,
    private sink: MirrorSink,
  ) {
    this.s = new Int32Array(shared);
    this.bytes = new Float64Array(bytes);
    worker.on('message', (m: ToMain) => {
      if (m.type === 'mirror') {
        this.sink(m.offset, Buffer.from(m.data)).then(
          (ok) => this.answer(m.id, ok),
          () => this.answer(m.id, false),
        );
      } else if (m.type === 'error') this.error = m.message;
    });
    worker.on('error', (e) => (this.error = e.message));
  }

  /** Start the guest's storage IO on the image at `path` (created from `spec`). */
  static async start(path: string, spec: DiskSpec, sink: MirrorSink): Promise<DiskWriter> {
    const shared = new SharedArrayBuffer(SHARED_INTS * 4);
    const bytes = new SharedArrayBuffer(8);
    const data: DiskWorkerData = { path, spec, shared, bytes };
    const worker = new Worker(compiledSibling(import.meta.url, 'disk-worker.js'), { workerData: data });
    const tid = await new Promise<number | null>((resolve, reject) => {
      worker.once('message', (m: ToMain) => (m.type === 'started' ? resolve(m.tid) : reject(new MigbenchError('E_IO', `disk writer: ${(m as { message?: string }).message}`))));
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new MigbenchError('E_STATE', `disk writer exited early (${code})`)));
    });
    worker.removeAllListeners('exit');
    worker.removeAllListeners('error');
    worker.removeAllListeners('message');
    return new DiskWriter(worker, tid, shared, bytes, sink);
  }

  /** Where mirrored writes go (the driver swaps it when the session changes or fails). */
  setSink(sink: MirrorSink): void {
    this.sink = sink;
  }

  private answer(id: number, ok: boolean): void {
    if (!this.stopped) this.worker.postMessage({ type: 'mirrored', id, ok } satisfies ToWorker);
  }

  /** The worker's failure, if it failed (a source write error). */
  get failure(): string | undefined {
    return this.error;
  }

  /** Publish the migration core's mirror state. `inflightEnd` is the end of the segment being copied. */
  publish(state: MirrorState, copied: number, inflightEnd: number): void {
    const code = state === 'copying' ? MIRROR_COPYING : state === 'mirroring' ? MIRROR_ALL : state === 'switched' ? MIRROR_SWITCHED : MIRROR_OFF;
    // Order matters for the handshake: the in-flight end first, the state last.
    Atomics.store(this.s, W.inflightEnd, inflightEnd);
    Atomics.store(this.s, W.copied, copied);
    Atomics.store(this.s, W.mirror, code);
    Atomics.notify(this.s, W.copied);
  }

  /**
   * The copier's side of the handshake: regions [start, end) are in flight from now on; resolves once no
   * source-only write into them is still in progress, so reading them now sees every write routed there.
   */
  async beginSegment(start: number, end: number, copied: number): Promise<void> {
    Atomics.store(this.s, W.inflightEnd, end);
    Atomics.store(this.s, W.copied, copied);
    Atomics.store(this.s, W.mirror, MIRROR_COPYING);
    for (let i = 0; i < 100_000; i++) {
      let busy = false;
      for (let k = 0; k < QUEUE_DEPTH; k++) {
        const v = Atomics.load(this.s, W.slots + k);
        if (v > start && v <= end) busy = true;
      }
      if (!busy) return;
      await new Promise((r) => setImmediate(r));
    }
    throw new MigbenchError('E_STATE', 'a guest write into the segment to copy never finished');
  }

  async pause(): Promise<void> {
    await this.request(PAUSE_REQUESTED, PAUSED);
  }

  resume(): void {
    Atomics.store(this.s, W.state, RUN);
    Atomics.notify(this.s, W.state);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    try {
      if (Atomics.load(this.s, W.state) !== STOPPED) await this.request(STOP_REQUESTED, STOPPED);
    } finally {
      this.stopped = true;
      this.finalCpu = threadCpuSeconds(this.tid);
      await this.worker.terminate();
    }
  }

  /** CPU seconds the guest's storage IO thread has used so far (null where the kernel does not say). */
  cpuSeconds(): number | null {
    return this.finalCpu ?? threadCpuSeconds(this.tid);
  }

  private async request(ask: number, until: number): Promise<void> {
    Atomics.store(this.s, W.state, ask);
    Atomics.notify(this.s, W.state);
    for (let i = 0; i < 3000 && Atomics.load(this.s, W.state) !== until; i++) {
      if (Atomics.load(this.s, W.state) === STOPPED) break;
      const r = waitAsync(this.s, W.state, ask, 10);
      if (r.async) await r.value;
    }
    const st = Atomics.load(this.s, W.state);
    if (st !== until && !(st === STOPPED && this.error)) throw new MigbenchError('E_STATE', `the disk writer did not ${until === PAUSED ? 'pause' : 'stop'} within 30 s`);
    if (this.error) throw new MigbenchError('E_IO', `the guest's disk writer failed: ${this.error}`);
  }

  /** Counters (exact while paused or stopped). */
  get counts(): DiskCounts {
    return {
      writes: Atomics.load(this.s, W.writes) >>> 0,
      mirroredWrites: Atomics.load(this.s, W.mirrored) >>> 0,
      mirroredBytes: this.bytes[0]!,
      heldWrites: Atomics.load(this.s, W.held) >>> 0,
      mirrorFailed: Atomics.load(this.s, W.mirrorFailed) >>> 0,
    };
  }
}
