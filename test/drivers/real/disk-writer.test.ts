import { afterEach, describe, expect, it } from 'vitest';
import { closeSync, ftruncateSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDiskImage, expectedDiskSha256, fileSha256, REGION_BYTES, writeAll, type DiskSpec } from '../../../src/guest/real/disk.js';
import { DiskWriter } from '../../../src/drivers/real/disk-writer.js';
import { StorageMirror } from '../../../src/migration/storage.js';

const MiB = 2 ** 20;
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'migbench-disk-'));
  dirs.push(d);
  return d;
};
const spec = (over: Partial<DiskSpec['io']> = {}, bytes = 24 * MiB): DiskSpec => ({
  bytes,
  allocated: 0.75,
  seed: 9,
  io: { writeIops: 3000, readIops: 0, ioSize: 16384, hotFraction: 0.2, hotShare: 0.8, ...over },
});

describe('real guest disk', () => {
  it('creates a sparse seeded image whose hash the replay reproduces, with and without writes', () => {
    const d = tmp();
    const sp = spec();
    createDiskImage(join(d, 'a.img'), sp);
    createDiskImage(join(d, 'b.img'), sp);
    const a = fileSha256(join(d, 'a.img')).sha256;
    expect(fileSha256(join(d, 'b.img')).sha256).toBe(a);
    expect(expectedDiskSha256(sp, 0)).toBe(a);
    expect(expectedDiskSha256(sp, 10)).not.toBe(a);
    expect(expectedDiskSha256({ ...sp, seed: 10 }, 0)).not.toBe(a);
  });

  it('a running writer, paused, leaves exactly the replay of its counted writes', async () => {
    const d = tmp();
    const sp = spec();
    const path = join(d, 'disk.img');
    createDiskImage(path, sp);
    const w = await DiskWriter.start(path, sp, async () => false);
    try {
      await new Promise((r) => setTimeout(r, 200));
      await w.pause();
      const n = w.counts.writes;
      expect(n).toBeGreaterThan(50);
      expect(fileSha256(path).sha256).toBe(expectedDiskSha256(sp, n));
      w.resume();
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      await w.stop();
    }
    expect(fileSha256(path).sha256).toBe(expectedDiskSha256(sp, w.counts.writes));
  });

  it('copy with IO mirroring: the copy and the mirrored writes rebuild the source exactly, however they interleave', async () => {
    const d = tmp();
    const sp = spec({ writeIops: 20_000, ioSize: 4096, hotFraction: 0.1, hotShare: 0.9 });
    const src = join(d, 'src.img');
    const dst = join(d, 'dst.img');
    createDiskImage(src, sp);
    const dfd = openSync(dst, 'wx+');
    ftruncateSync(dfd, sp.bytes);
    // The "destination": mirrored writes land after a short delay, as over a link.
    const w = await DiskWriter.start(src, sp, (offset, data) => new Promise((r) => setTimeout(() => (writeAll(dfd, data, offset), r(true)), 1)));
    const regions = sp.bytes / REGION_BYTES;
    const m = new StorageMirror(regions, 2);
    const sfd = openSync(src, 'r');
    const buf = Buffer.allocUnsafe(REGION_BYTES);
    try {
      m.start();
      for (let seg = m.nextSegment(); seg; seg = m.nextSegment()) {
        await w.beginSegment(seg.start, seg.end, m.copiedRegions);
        for (let r = seg.start; r < seg.end; r++) {
          readSync(sfd, buf, 0, REGION_BYTES, r * REGION_BYTES);
          await new Promise((res) => setTimeout(res, 2)); // the segment is in flight for a while
          writeAll(dfd, buf, r * REGION_BYTES);
        }
        m.segmentDone();
        w.publish(m.status, m.copiedRegions, m.copiedRegions);
      }
      expect(m.status).toBe('mirroring');
      await new Promise((r) => setTimeout(r, 100));
      await w.pause();
      const c = w.counts;
      expect(c.mirroredWrites).toBeGreaterThan(0);
      expect(c.heldWrites).toBeGreaterThan(0);
      expect(c.mirrorFailed).toBe(0);
      const want = expectedDiskSha256(sp, c.writes);
      expect(fileSha256(src).sha256).toBe(want);
      expect(fileSha256(dst).sha256).toBe(want);
    } finally {
      closeSync(sfd);
      await w.stop();
      closeSync(dfd);
    }
  });
});
