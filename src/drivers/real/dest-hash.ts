// Hashes of a migration's memory, device state and disk image at the destination, for the source's
// verification. Hashing a large VM takes seconds: it yields to the event loop every few MiB, so the other
// migrations received at the same time keep flowing (their channels would otherwise sit unread).

import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { MemorySink } from '../../transport/tcp/sinks.js';
import type { Hashes } from './protocol.js';

const REGION = 2 ** 20;
/** Regions hashed between two yields. */
const SLICE_REGIONS = 16;

export async function migrationHashes(ram: MemorySink, ramBytes: number, state: Buffer | null, diskPath: string | null, regions: boolean): Promise<Hashes> {
  const h = createHash('sha256');
  const ramRegions: string[] = [];
  for (let at = 0, i = 0; at < ramBytes; at += REGION, i++) {
    if (i > 0 && i % SLICE_REGIONS === 0) await yieldToLoop();
    const piece = readRam(ram, at, Math.min(REGION, ramBytes - at));
    h.update(piece);
    if (regions) ramRegions.push(createHash('sha256').update(piece).digest('hex'));
  }
  const disk = diskPath && existsSync(diskPath) ? await fileHash(diskPath, regions) : null;
  const st = createHash('sha256')
    .update(state ?? Buffer.alloc(0))
    .digest('hex');
  return { ram: h.digest('hex'), disk: disk?.sha256 ?? null, state: st, ...(regions ? { ramRegions, diskRegions: disk?.regions ?? [] } : {}) };
}

/** SHA-256 of a file and of each 1 MiB region (as fileSha256 in guest/real/disk.ts), yielding between slices. */
async function fileHash(path: string, regions: boolean): Promise<{ sha256: string; regions: string[] }> {
  const fd = openSync(path, 'r');
  try {
    const h = createHash('sha256');
    const out: string[] = [];
    const buf = Buffer.allocUnsafe(REGION);
    for (let at = 0, i = 0; ; i++) {
      if (i > 0 && i % SLICE_REGIONS === 0) await yieldToLoop();
      let n = 0;
      while (n < REGION) {
        const got = readSync(fd, buf, n, REGION - n, at + n);
        if (got <= 0) break;
        n += got;
      }
      if (n === 0) break;
      h.update(buf.subarray(0, n));
      if (regions) out.push(createHash('sha256').update(buf.subarray(0, n)).digest('hex'));
      at += n;
      if (n < REGION) break;
    }
    return { sha256: h.digest('hex'), regions: out };
  } finally {
    closeSync(fd);
  }
}

function readRam(ram: MemorySink, at: number, n: number): Buffer {
  const seg = Math.floor(at / ram.segmentSize);
  const off = at % ram.segmentSize;
  if (off + n <= ram.segmentSize) {
    const s = ram.segments[seg]!;
    return Buffer.from(s.buffer, s.byteOffset + off, n);
  }
  return ram.read(at, n);
}
