import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TokenBucket } from '../../../src/transport/tcp/token-bucket.js';
import { Coverage, MemorySink } from '../../../src/transport/tcp/sinks.js';
import { isLoopback, parseAddresses, parseEndpoints } from '../../../src/transport/tcp/address.js';
import { PatternSource } from '../../../src/transport/tcp/source.js';
import { InputError } from '../../../src/errors.js';
import { sha256 } from './helpers.js';

describe('TokenBucket', () => {
  it('holds the long-run rate exactly, whatever the frame size', () => {
    const b = new TokenBucket(1e6, 65536);
    let now = 0;
    let sent = 0;
    // Send 1 MiB frames as fast as the bucket allows for 10 virtual seconds.
    for (let i = 0; i < 10_000; i++) {
      const at = now + b.delay(now);
      if (at > 10) break;
      now = at;
      b.take(2 ** 20, now);
      sent += 2 ** 20;
    }
    // The burst, then 1e6 bytes per second: within one frame of that.
    expect(sent).toBeLessThanOrEqual(65536 + 10 * 1e6 + 2 ** 20);
    expect(sent).toBeGreaterThanOrEqual(10 * 1e6 - 2 ** 20);
    const slow = new TokenBucket(1e6 / 2, 65536);
    let t = 0;
    let n = 0;
    for (let i = 0; i < 10_000; i++) {
      const at = t + slow.delay(t);
      if (at > 10) break;
      t = at;
      slow.take(2 ** 20, t);
      n += 2 ** 20;
    }
    expect(n).toBeLessThan(sent * 0.6);
  });
  it('lets a burst through at once and then asks to wait', () => {
    const b = new TokenBucket(1000, 500);
    expect(b.delay(0)).toBe(0);
    b.take(1500, 0);
    expect(b.delay(0)).toBeCloseTo(1);
    expect(b.delay(0.5)).toBeCloseTo(0.5);
    expect(b.delay(1)).toBe(0);
    expect(() => new TokenBucket(0)).toThrow(/positive/);
  });
});

describe('Coverage', () => {
  it('counts the distinct bytes of any set of ranges', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(200), fc.nat(50)), { maxLength: 40 }), (ranges) => {
        const c = new Coverage();
        const bytes = new Uint8Array(260);
        for (const [s, l] of ranges) {
          c.add(s, s + l);
          bytes.fill(1, s, s + l);
        }
        expect(c.covered(260)).toBe(bytes.reduce((t, x) => t + x, 0));
        expect(c.covered(100)).toBe(bytes.subarray(0, 100).reduce((t, x) => t + x, 0));
      }),
    );
  });
});

describe('MemorySink', () => {
  it('writes pieces across segment boundaries and reads them back; hashes [0, size)', async () => {
    const m = new MemorySink(100, { segmentSize: 16, shared: true });
    expect(m.segments).toHaveLength(7);
    expect(m.segments[0]!.buffer).toBeInstanceOf(SharedArrayBuffer);
    const data = Buffer.from(Array.from({ length: 100 }, (_, i) => (i * 7) & 0xff));
    m.writePiece(0, data.subarray(0, 5));
    m.writePiece(5, data.subarray(5, 60));
    m.writePiece(60, data.subarray(60));
    expect(m.read(0, 100).equals(data)).toBe(true);
    expect(m.read(13, 40).equals(data.subarray(13, 53))).toBe(true);
    expect((await m.digest(100)).equals(sha256(data))).toBe(true);
  });
});

describe('addresses', () => {
  it('parses ADDR:PORT lists, IPv6 in brackets, and names the flag on errors', () => {
    expect(parseEndpoints('127.0.0.1:7000,[::1]:7001,localhost:1', '--to')).toEqual([
      { host: '127.0.0.1', port: 7000 },
      { host: '::1', port: 7001 },
      { host: 'localhost', port: 1 },
    ]);
    expect(() => parseEndpoints('127.0.0.1:0', '--to')).toThrow(/--to: expected ADDR:PORT/);
    expect(parseEndpoints('127.0.0.1:0', '--listen', { allowPortZero: true })[0]!.port).toBe(0);
    for (const bad of ['127.0.0.1', 'host.example:80', '127.0.0.1:70000', '::1:80', '', '1.2.3.4:5,']) {
      expect(() => parseEndpoints(bad, '--to')).toThrow(InputError);
    }
    expect(parseAddresses('10.0.0.1,::1', '--bind')).toEqual(['10.0.0.1', '::1']);
    expect(() => parseAddresses('eth0', '--bind')).toThrow(/--bind/);
    expect(isLoopback('127.3.4.5') && isLoopback('::1') && isLoopback('::ffff:127.0.0.1')).toBe(true);
    expect(isLoopback('10.0.0.1') || isLoopback('0.0.0.0')).toBe(false);
  });
});

describe('PatternSource', () => {
  it('is a pure function of the seed and offset, with a period that is not a power of two', () => {
    const a = new PatternSource(3, 1000);
    const b = new PatternSource(3, 1000);
    expect(a.view(1500, 100).equals(b.view(500, 100))).toBe(true);
    expect(a.view(0, 100).equals(new PatternSource(4, 1000).view(0, 100))).toBe(false);
    expect(() => a.view(0, 1001)).toThrow(RangeError);
    expect(a.sha256(2500, 300).equals(sha256(Buffer.concat([a.view(0, 1000), a.view(1000, 1000), a.view(2000, 500)])))).toBe(true);
  });
});
