// The destination's memory split per migration (dest-memory.ts): no buffer of the reserve or of the
// staging rings is ever held by two migrations, a partial share falls back to fresh memory, and memory an
// earlier VM wrote is zeroed before the next one gets it.
import { describe, expect, it } from 'vitest';
import { RESERVE_BLOCK, ReservePool, StagingRings } from '../../../src/drivers/real/dest-memory.js';
import { STAGING_BYTES } from '../../../src/drivers/real/protocol.js';
import { MemorySink } from '../../../src/transport/tcp/sinks.js';

const MiB = 2 ** 20;

/** The ArrayBuffers behind a lease's segments (a block is one ArrayBuffer region). */
const regions = (segs: Uint8Array[]) => segs.map((s) => ({ buf: s.buffer, from: s.byteOffset, to: s.byteOffset + s.length }));
const overlap = (a: Uint8Array[], b: Uint8Array[]) => regions(a).some((x) => regions(b).some((y) => x.buf === y.buf && x.from < y.to && y.from < x.to));

describe('ReservePool', () => {
  it('leases blocks to one migration at a time and the rest fresh; never two leases on one buffer', () => {
    const pool = new ReservePool(2 * RESERVE_BLOCK + 16 * MiB); // two whole blocks and a 16 MiB one
    expect(pool.freeBytes).toBe(2 * RESERVE_BLOCK + 16 * MiB);
    const a = pool.lease(RESERVE_BLOCK + 8 * MiB); // a whole block, then the 16 MiB one for its last 8 MiB
    expect(a.pooled).toBe(RESERVE_BLOCK + 8 * MiB);
    expect(a.segments.map((s) => s.length)).toEqual([RESERVE_BLOCK, 16 * MiB]);
    const b = pool.lease(2 * RESERVE_BLOCK); // one block left: the rest is fresh
    expect(b.pooled).toBe(RESERVE_BLOCK);
    expect(b.segments.map((s) => s.length)).toEqual([RESERVE_BLOCK, RESERVE_BLOCK]);
    const c = pool.lease(4 * MiB); // nothing left
    expect(c.pooled).toBe(0);
    expect(overlap(a.segments, b.segments) || overlap(a.segments, c.segments) || overlap(b.segments, c.segments)).toBe(false);
    expect(pool.freeBytes).toBe(0);
    a.release();
    a.release(); // idempotent: the blocks are not given back twice
    expect(pool.freeBytes).toBe(RESERVE_BLOCK + 16 * MiB);
    const d = pool.lease(RESERVE_BLOCK + 8 * MiB);
    const e = pool.lease(RESERVE_BLOCK + 8 * MiB);
    expect(d.pooled).toBe(RESERVE_BLOCK + 8 * MiB);
    expect(e.pooled).toBe(0);
    expect(overlap(d.segments, e.segments) || overlap(d.segments, b.segments)).toBe(false);
  });

  it('zeroes memory an earlier VM wrote before leasing it again, and a sink of the segments covers the VM', () => {
    const pool = new ReservePool(24 * MiB);
    const a = pool.lease(20 * MiB);
    const sinkA = new MemorySink(20 * MiB, { segments: a.segments, segmentSize: a.segmentSize });
    sinkA.writePiece(20 * MiB - 4096, Buffer.alloc(4096, 0xab));
    sinkA.writePiece(0, Buffer.alloc(4096, 0xcd));
    a.release();
    const b = pool.lease(24 * MiB);
    expect(b.pooled).toBe(24 * MiB);
    expect(b.segments[0]!.every((x) => x === 0)).toBe(true);
    expect(() => pool.lease(0)).toThrow(/a lease of 0 bytes/);
  });
});

describe('StagingRings', () => {
  it('gives each migration in flight its own ring, and keeps idle ones for reuse', () => {
    const rings = new StagingRings(2);
    rings.warm();
    expect(rings.idleCount).toBe(1);
    const held = [rings.take(), rings.take(), rings.take()];
    expect(new Set(held).size).toBe(3);
    for (const r of held) expect(r.length).toBe(STAGING_BYTES);
    for (const r of held) rings.give(r);
    rings.give(held[0]!);
    expect(rings.idleCount).toBe(2);
    const again = [rings.take(), rings.take()];
    expect(new Set(again).size).toBe(2);
  });
});
