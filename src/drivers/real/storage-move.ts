// The source's side of a real live storage migration: the bulk copy of the disk image by segments, the
// guest's writes mirrored to the destination once their region is copied, and the mirror's state told
// to the disk writer after every event (docs/real.md, "Storage").

import { closeSync, openSync, readSync } from 'node:fs';
import { REGION_BYTES, type DiskSpec } from '../../guest/real/disk.js';
import type { Event } from '../../migration/events.js';
import type { StorageMirror } from '../../migration/storage.js';
import { MigbenchError } from '../../errors.js';
import { HEADER_SIZE } from '../../transport/tcp/frame.js';
import type { SenderSession } from '../../transport/tcp/sender.js';
import type { RealContext } from './context.js';
import { DiskWriter } from './disk-writer.js';
import type { FaultPlan } from './faults.js';
import type { BufferPool } from './pages.js';

/** What the storage move uses of the rest of the migration. */
export interface StorageMoveDeps {
  /** The migration's session (null before the setup). */
  session(): SenderSession | null;
  pool: BufferPool;
  mirror: StorageMirror;
  faults: FaultPlan;
  /** The barrier after a segment (everything written so far is on the destination). */
  flush(): Promise<void>;
  /** A failure has been reported: the mirror stops taking writes. */
  failed(): boolean;
}

export class StorageMove {
  private fd: number | null;
  disk!: DiskWriter;
  /** End of the segment being copied (the writer holds guest writes into it). */
  private inflightEnd = 0;
  /** Mirrored writes not yet acknowledged: each resolves true once the destination wrote it. */
  private readonly waiting = new Set<(ok: boolean) => void>();
  bytesCopied = 0;
  /** Payload and frame headers of the bulk copy and of the mirrored writes. */
  copyWireBytes = 0;
  mirroredWireBytes = 0;

  private constructor(
    private readonly ctx: RealContext,
    readonly spec: DiskSpec,
    readonly path: string,
    private readonly deps: StorageMoveDeps,
  ) {
    this.fd = openSync(path, 'r');
  }

  /** The source's disk image and its writer (the guest's storage IO), untimed. */
  static async start(ctx: RealContext, spec: DiskSpec, path: string, deps: StorageMoveDeps): Promise<StorageMove> {
    const move = new StorageMove(ctx, spec, path, deps);
    move.disk = await DiskWriter.start(path, spec, (offset, data) => move.mirror(offset, data));
    return move;
  }

  /** Copy regions [start, end) of the source image to the destination; resolves once it has them. */
  async copySegment(start: number, end: number, check: () => void): Promise<Event> {
    const { ctx, deps, spec } = this;
    this.inflightEnd = end;
    await this.disk.beginSegment(start, end, deps.mirror.copiedRegions);
    const session = deps.session()!;
    for (let r = start; r < end; r++) {
      check();
      const len = Math.min(REGION_BYTES, spec.bytes - r * REGION_BYTES);
      const got = deps.pool.take();
      const buf = got instanceof Promise ? await got : got;
      for (let n = 0; n < len; ) n += readSync(this.fd!, buf, n, len - n, r * REGION_BYTES + n) || endedInside(r);
      await session.write(ctx.ramBytes + r * REGION_BYTES, buf.subarray(0, len), () => deps.pool.give(buf));
      this.bytesCopied += len;
      this.copyWireBytes += len + Math.ceil(len / ctx.chunkSize) * HEADER_SIZE;
      deps.faults.progress('storage-copy', this.bytesCopied / spec.bytes);
    }
    await deps.flush();
    return { type: 'segment-copied', now: ctx.now() };
  }

  /** A mirrored guest write: resolves true once the destination wrote it, false when it never will. */
  mirror(offset: number, data: Buffer): Promise<boolean> {
    const s = this.deps.session();
    const mir = this.deps.mirror;
    if (!s || this.deps.failed() || mir.status === 'stopped' || mir.status === 'idle') return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const done = (ok: boolean) => {
        if (this.waiting.delete(done)) resolve(ok);
      };
      this.waiting.add(done);
      this.mirroredWireBytes += data.length + HEADER_SIZE;
      s.write(this.ctx.ramBytes + offset, data, () => done(true)).catch(() => done(false));
    });
  }

  /** Tell the disk writer what the core's mirror says (after every event). */
  publish(): void {
    const mir = this.deps.mirror;
    this.disk.publish(mir.status, mir.copiedRegions, mir.status === 'copying' ? Math.max(mir.copiedRegions, this.inflightEnd) : mir.copiedRegions);
    if (mir.status === 'stopped') this.abandonMirrored();
  }

  /** The migration is over: mirrored writes still waiting will never be acknowledged; close the image. */
  close(): void {
    this.abandonMirrored();
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private abandonMirrored(): void {
    for (const w of [...this.waiting]) w(false);
  }
}

function endedInside(region: number): number {
  throw new MigbenchError('E_IO', `the source disk image ended inside region ${region}`);
}
