// The source's side of a real live storage migration: the bulk copy of the disk image by segments, the
// guest's writes mirrored to the destination once their region is copied, and the mirror's state told
// to the disk writer after every event (docs/real.md, "Storage").

import { closeSync, openSync, readSync } from 'node:fs';
import { REGION_BYTES } from '../../guest/real/disk.js';
import type { Event } from '../../migration/orchestrator.js';
import { MigbenchError } from '../../errors.js';
import { HEADER_SIZE } from '../../transport/tcp/frame.js';
import type { RealMigration } from './driver.js';

export class StorageMove {
  private fd: number | null;
  /** End of the segment being copied (the writer holds guest writes into it). */
  private inflightEnd = 0;
  /** Mirrored writes not yet acknowledged: each resolves true once the destination wrote it. */
  private readonly waiting = new Set<(ok: boolean) => void>();
  bytesCopied = 0;
  /** Payload and frame headers of the bulk copy and of the mirrored writes. */
  copyWireBytes = 0;
  mirroredWireBytes = 0;

  constructor(
    private readonly m: RealMigration,
    diskPath: string,
  ) {
    this.fd = openSync(diskPath, 'r');
  }

  /** Copy regions [start, end) of the source image to the destination; resolves once it has them. */
  async copySegment(start: number, end: number): Promise<Event> {
    const m = this.m;
    const spec = m.diskSpec!;
    this.inflightEnd = end;
    await m.disk!.beginSegment(start, end, m.core.mirror!.copiedRegions);
    for (let r = start; r < end; r++) {
      m.check();
      const len = Math.min(REGION_BYTES, spec.bytes - r * REGION_BYTES);
      const got = m.pool.take();
      const buf = got instanceof Promise ? await got : got;
      for (let n = 0; n < len; ) n += readSync(this.fd!, buf, n, len - n, r * REGION_BYTES + n) || endedInside(r);
      await m.session!.write(m.ramBytes + r * REGION_BYTES, buf.subarray(0, len), () => m.pool.give(buf));
      this.bytesCopied += len;
      this.copyWireBytes += len + Math.ceil(len / m.chunkSize) * HEADER_SIZE;
      m.faults.progress('storage-copy', this.bytesCopied / spec.bytes);
    }
    await m.flush();
    return { type: 'segment-copied', now: m.now() };
  }

  /** A mirrored guest write: resolves true once the destination wrote it, false when it never will. */
  mirror(offset: number, data: Buffer): Promise<boolean> {
    const m = this.m;
    const s = m.session;
    const mir = m.core.mirror;
    if (!s || m.failure || !mir || mir.status === 'stopped' || mir.status === 'idle') return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const done = (ok: boolean) => {
        if (this.waiting.delete(done)) resolve(ok);
      };
      this.waiting.add(done);
      this.mirroredWireBytes += data.length + HEADER_SIZE;
      s.write(m.ramBytes + offset, data, () => done(true)).catch(() => done(false));
    });
  }

  /** Tell the disk writer what the core's mirror says (after every event). */
  publish(): void {
    const mir = this.m.core.mirror;
    if (!mir || !this.m.disk) return;
    this.m.disk.publish(mir.status, mir.copiedRegions, mir.status === 'copying' ? Math.max(mir.copiedRegions, this.inflightEnd) : mir.copiedRegions);
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
