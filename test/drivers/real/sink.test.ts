import { describe, expect, it } from 'vitest';
import { MigrationSink, PROBE_RING } from '../../../src/drivers/real/sink.js';
import { PACKET_HEADER, PACKET_MAGIC, STAGING_BYTES } from '../../../src/drivers/real/protocol.js';
import { ProtocolError } from '../../../src/transport/tcp/frame.js';
import { PAGE_SIZE } from '../../../src/units/index.js';

function packet(pages: number[]): Buffer {
  const b = Buffer.alloc(PACKET_HEADER + pages.length * PAGE_SIZE);
  b.writeUInt32LE(PACKET_MAGIC, 0);
  b.writeUInt32LE(pages.length, 4);
  pages.forEach((p, i) => {
    b.writeUInt32LE(p, 16 + i * 4);
    b.fill(0x10 + i, PACKET_HEADER + i * PAGE_SIZE, PACKET_HEADER + (i + 1) * PAGE_SIZE);
  });
  return b;
}

describe('MigrationSink, released', () => {
  it('refuses a late chunk of its session with a typed error and applies no packet', () => {
    const sink = new MigrationSink();
    sink.startProbe(64 * 2 ** 20 + STAGING_BYTES);
    sink.release();
    expect(() => sink.writePiece(0, Buffer.alloc(16))).toThrow(ProtocolError);
    expect(() => sink.writePiece(0, Buffer.alloc(16))).toThrow(/migration that has ended/);
    sink.chunkWritten(64 * 2 ** 20, PACKET_HEADER);
    expect(sink.packetsApplied).toBe(0);
  });
});

describe('MigrationSink, probe session', () => {
  const scratch = 128 * 2 ** 20; // the probe's scratch memory, below its staging area (wraps the 64 MiB ring)
  const open = () => {
    const sink = new MigrationSink();
    sink.startProbe(scratch + STAGING_BYTES);
    return sink;
  };

  it('writes plain data into the ring and applies page packets to it, as a migration applies them to memory', () => {
    const sink = open();
    sink.writePiece(PROBE_RING + 8, Buffer.from([7, 7])); // wraps to the ring's start
    expect([...sink.ring!.subarray(8, 10)]).toEqual([7, 7]);
    const pages = [3, 1000, PROBE_RING / PAGE_SIZE + 5]; // the last wraps to slot 5
    const pk = packet(pages);
    const at = scratch + 2 ** 20; // the second staging slot
    sink.writePiece(at, pk);
    expect(sink.ring![3 * PAGE_SIZE]).toBe(1); // not applied before its chunk passed its CRC
    sink.chunkWritten(at, pk.length);
    expect(sink.packetsApplied).toBe(1);
    expect(sink.ring!.subarray(3 * PAGE_SIZE, 4 * PAGE_SIZE).every((x) => x === 0x10)).toBe(true);
    expect(sink.ring!.subarray(1000 * PAGE_SIZE, 1001 * PAGE_SIZE).every((x) => x === 0x11)).toBe(true);
    expect(sink.ring!.subarray(5 * PAGE_SIZE, 6 * PAGE_SIZE).every((x) => x === 0x12)).toBe(true);
    expect(sink.ring![4 * PAGE_SIZE]).toBe(1); // untouched
  });

  it('rejects a bad packet or a page outside the scratch memory with a typed error', () => {
    const sink = open();
    const bad = packet([1]);
    bad.writeUInt32LE(0, 0);
    sink.writePiece(scratch, bad);
    expect(() => sink.chunkWritten(scratch, bad.length)).toThrow(ProtocolError);
    const far = packet([scratch / PAGE_SIZE]);
    sink.writePiece(scratch, far);
    expect(() => sink.chunkWritten(scratch, far.length)).toThrow(/page packet names page/);
    expect(sink.packetsApplied).toBe(0);
  });
});
