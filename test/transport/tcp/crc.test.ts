import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32c } from '../../../src/transport/tcp/crc.js';

/** Bit-by-bit CRC-32C (reflected polynomial 0x82F63B78): slow, obviously right. */
function reference(data: Uint8Array, previous = 0): number {
  let c = ~previous >>> 0;
  for (const byte of data) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return ~c >>> 0;
}

describe('CRC-32C', () => {
  it('gives the standard check value and agrees with a bit-by-bit reference on random data', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(0))).toBe(0);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), (bytes) => {
        expect(crc32c(Buffer.from(bytes))).toBe(reference(bytes));
        // a plain Uint8Array view (not a Buffer) at an odd offset gives the same
        const padded = new Uint8Array(bytes.length + 3);
        padded.set(bytes, 3);
        expect(crc32c(padded.subarray(3))).toBe(reference(bytes));
      }),
      { numRuns: 200 },
    );
  });

  it('continues across pieces: the CRC of a whole equals the CRC of its pieces chained', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 5000 }), fc.array(fc.nat(), { maxLength: 6 }), (bytes, cuts) => {
        const b = Buffer.from(bytes);
        const at = [...new Set(cuts.map((c) => c % b.length))].sort((x, y) => x - y);
        let crc = 0;
        let from = 0;
        for (const c of [...at, b.length]) {
          crc = crc32c(b.subarray(from, c), crc);
          from = c;
        }
        expect(crc).toBe(crc32c(b));
      }),
      { numRuns: 200 },
    );
    // large random buffers (the library's interleaved-block path) against the reference itself
    const rnd = Buffer.alloc(3 * 2 ** 20 + 4093);
    let x = 12345;
    for (let i = 0; i < rnd.length; i++) {
      x = (x * 1103515245 + 12345) >>> 0;
      rnd[i] = x >>> 24;
    }
    expect(crc32c(rnd)).toBe(reference(rnd));
    expect(crc32c(rnd.subarray(777, 2 ** 21 + 5))).toBe(reference(rnd.subarray(777, 2 ** 21 + 5)));
    // large buffers, one bit flipped is seen
    const big = Buffer.alloc(3 * 2 ** 20 + 17, 0x5a);
    const whole = crc32c(big);
    expect(crc32c(big.subarray(2 ** 20), crc32c(big.subarray(0, 2 ** 20)))).toBe(whole);
    big[2 ** 21] ^= 1;
    expect(crc32c(big)).not.toBe(whole);
  });
});
