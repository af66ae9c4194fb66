import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  decodeFrame,
  decodeHeader,
  encodeFrame,
  encodeHeader,
  FrameType,
  HEADER_SIZE,
  MAGIC,
  ProtocolError,
  type FrameHeader,
} from '../../../src/transport/tcp/frame.js';
import { FrameReader } from '../../../src/transport/tcp/frame-reader.js';
import { crc32c } from '../../../src/transport/tcp/crc.js';

const types = Object.values(FrameType);
const headerArb = fc.record({
  type: fc.constantFrom(...types),
  flags: fc.integer({ min: 0, max: 0xffff }),
  session: fc.uint8Array({ minLength: 8, maxLength: 8 }).map((u) => Buffer.from(u).toString('hex')),
  channel: fc.integer({ min: 0, max: 0xffff }),
  seq: fc.maxSafeNat(),
  offset: fc.maxSafeNat(),
});
const frameArb = fc.tuple(headerArb, fc.uint8Array({ maxLength: 600 }));

/** Feed `bytes` to a FrameReader cut at `cuts`; collect what it reports. */
function readAll(bytes: Buffer, cuts: number[]): { frames: { h: FrameHeader; payload: Buffer }[] } {
  const frames: { h: FrameHeader; payload: Buffer }[] = [];
  let data: Buffer[] = [];
  const r = new FrameReader({
    dataStart: () => {
      data = [];
    },
    dataPiece: (_h, piece) => data.push(Buffer.from(piece)),
    dataEnd: (h) => frames.push({ h, payload: Buffer.concat(data) }),
    frame: (h, payload) => frames.push({ h, payload }),
  });
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  let prev = 0;
  // The reader must not keep views into the buffer it was given: reuse one scratch buffer like a socket.
  const scratch = Buffer.alloc(bytes.length);
  for (const p of [...points, bytes.length]) {
    const n = bytes.copy(scratch, 0, prev, p);
    r.push(scratch.subarray(0, n));
    scratch.fill(0xee);
    prev = p;
  }
  return { frames };
}

describe('frame codec', () => {
  it('knows the CRC-32C check value', () => {
    expect(crc32c(Buffer.from('123456789')) >>> 0).toBe(0xe3069283);
  });

  it('round-trips any header and payload, whole and through the streaming reader cut anywhere', () => {
    fc.assert(
      fc.property(fc.array(frameArb, { minLength: 1, maxLength: 5 }), fc.array(fc.nat(), { maxLength: 8 }), (frames, cuts) => {
        const encoded = frames.map(([h, p]) => encodeFrame(h, p));
        for (let i = 0; i < frames.length; i++) {
          const d = decodeFrame(encoded[i]!);
          expect(d.header).toMatchObject({ ...frames[i]![0], length: frames[i]![1].length });
          expect(Buffer.compare(d.payload, Buffer.from(frames[i]![1]))).toBe(0);
        }
        const got = readAll(Buffer.concat(encoded), cuts).frames;
        expect(got.length).toBe(frames.length);
        got.forEach((g, i) => {
          expect(g.h).toMatchObject(frames[i]![0]);
          expect(Buffer.compare(g.payload, Buffer.from(frames[i]![1]))).toBe(0);
        });
      }),
      { numRuns: 300 },
    );
  });

  it('never crashes on random bytes: every failure is a ProtocolError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.boolean(), fc.array(fc.nat(), { maxLength: 4 }), (u, withMagic, cuts) => {
        const b = Buffer.from(u);
        if (withMagic && b.length >= 5) {
          b.writeUInt32BE(MAGIC, 0);
          b[4] = 1;
        }
        for (const attempt of [() => decodeFrame(b), () => readAll(b, cuts)]) {
          try {
            attempt();
          } catch (e) {
            expect(e).toBeInstanceOf(ProtocolError);
            expect((e as ProtocolError).code).toBe('E_PROTOCOL');
          }
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('rejects every single-byte mutation of a valid frame with a typed error', () => {
    fc.assert(
      fc.property(frameArb, fc.nat(), fc.integer({ min: 1, max: 255 }), fc.array(fc.nat(), { maxLength: 4 }), ([h, p], at, x, cuts) => {
        const f = encodeFrame(h, p);
        const i = at % f.length;
        f[i]! ^= x;
        expect(() => decodeFrame(f)).toThrow(ProtocolError);
        // The streaming reader either rejects the mutated frame or (when a changed length field makes it
        // wait for more bytes) reports nothing; it never reports a frame.
        let frames = -1;
        try {
          frames = readAll(f, cuts).frames.length;
        } catch (e) {
          expect(e).toBeInstanceOf(ProtocolError);
          frames = 0;
        }
        expect(frames).toBe(0);
      }),
      { numRuns: 1000 },
    );
  });

  it('names the reason: magic, version, header CRC, type, oversized, truncated, payload CRC, trailing bytes', () => {
    const h = { type: FrameType.DATA, flags: 0, session: '0123456789abcdef', channel: 2, seq: 7, offset: 4096 } as const;
    const good = encodeFrame(h, Buffer.from('hello'));
    const reason = (b: Buffer, limits?: { maxData: number; maxControl: number }) => {
      try {
        decodeFrame(b, limits);
      } catch (e) {
        return (e as ProtocolError).reason;
      }
      return 'accepted';
    };
    const m = Buffer.from(good);
    m.writeUInt32BE(0x12345678, 0);
    expect(reason(m)).toBe('bad-magic');
    const v = Buffer.from(good);
    v[4] = 9;
    expect(reason(v)).toBe('bad-version');
    const c = Buffer.from(good);
    c[30]! ^= 1;
    expect(reason(c)).toBe('header-crc');
    const p = Buffer.from(good);
    p[HEADER_SIZE]! ^= 1;
    expect(reason(p)).toBe('payload-crc');
    expect(reason(good.subarray(0, 20))).toBe('truncated');
    expect(reason(good.subarray(0, good.length - 1))).toBe('truncated');
    expect(reason(Buffer.concat([good, Buffer.from([0])]))).toBe('bad-field');
    expect(reason(good, { maxData: 4, maxControl: 4 })).toBe('oversized');
    // A frame type this version does not know, with a valid header CRC.
    const t = Buffer.from(good);
    t[5] = 99;
    t.writeUInt32BE(crc32c(t.subarray(0, 44)) >>> 0, 44);
    expect(reason(t)).toBe('bad-type');
    expect(reason(good)).toBe('accepted');
    expect(decodeHeader(encodeHeader(h, Buffer.alloc(3)), 0).length).toBe(3);
  });

  it('refuses to encode fields it could not decode', () => {
    const h = { type: FrameType.ACK, flags: 0, session: '0000000000000000', channel: 0, seq: 0, offset: 0 } as const;
    expect(() => encodeFrame({ ...h, offset: 2 ** 53 })).toThrow(RangeError);
    expect(() => encodeFrame({ ...h, session: 'xyz' })).toThrow(RangeError);
  });
});
