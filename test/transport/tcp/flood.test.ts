// Issue 15, items 2 and 3 (a permanent flood suite): connections that never prove the key, plain and
// before a TLS handshake, are held within the receiver's limits, dropped by the handshake timeout, and can
// never lock out a key holder. Loopback only (127.0.0.0/8), every loop bounded in count, every socket
// destroyed at the end.
import { afterEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import { SenderSession } from '../../../src/transport/tcp/sender.js';
import { KEY, randomData, sha256, startReceiver, waitFor, type TestReceiver } from './helpers.js';

let rx: TestReceiver | undefined;
const sockets: net.Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await rx?.stop();
  rx = undefined;
});

/** Open `n` silent connections from `localAddress`; resolves once each is connected or already closed. */
async function silent(port: number, n: number, localAddress = '127.0.0.1'): Promise<net.Socket[]> {
  const out: net.Socket[] = [];
  await Promise.all(
    Array.from({ length: n }, () => {
      const s = net.connect({ port, host: '127.0.0.1', localAddress });
      s.on('error', () => undefined);
      sockets.push(s);
      out.push(s);
      return new Promise<void>((r) => {
        s.once('connect', () => r());
        s.once('close', () => r());
      });
    }),
  );
  return out;
}

async function keyHolderVerifies(t: TestReceiver, tls = false): Promise<void> {
  const data = randomData(300_000);
  const s = await SenderSession.open({ targets: [t.ep], channelsPerTarget: 4, key: KEY, tls, size: data.length, chunkSize: 64 * 1024, connectTimeout: 10 });
  try {
    await s.write(0, data);
    expect((await s.commit(sha256(data))).status).toBe('verified');
    expect(s.stats().channels.every((c) => c.failure === null)).toBe(true);
  } finally {
    s.close();
  }
}

describe('connection floods', () => {
  it('idle clients from 10 addresses (64 each) do not lock out a key holder (item 3)', async () => {
    rx = await startReceiver(); // the defaults: 256 in total, 64 per address, 128 / 32 unauthenticated
    let peak = 0;
    for (let a = 2; a <= 11; a++) {
      await silent(rx.ep.port, 64, `127.0.0.${a}`);
      peak = Math.max(peak, rx.r.connectionCount);
    }
    // Every unauthenticated slot is taken: the key holder's channels evict the oldest ones and get in.
    await keyHolderVerifies(rx);
    expect(peak).toBeLessThanOrEqual(256);
    expect(rx.r.unauthenticatedCount).toBeLessThanOrEqual(128);
    expect(rx.closed.filter((e) => e.code === 'evicted').length).toBeGreaterThan(0);
  }, 60_000);

  it('with --tls, limits and the handshake timeout hold before the TLS handshake (item 2)', async () => {
    rx = await startReceiver({ tls: true, handshakeTimeout: 1, maxConnections: 20 });
    const flood = await silent(rx.ep.port, 50);
    // Never more than the cap held, even though none of them started TLS.
    expect(rx.r.connectionCount).toBeLessThanOrEqual(20);
    // Dropped by the handshake timeout (1 s), counted from the TCP accept; bounded wait, no speed assumed.
    await waitFor(() => flood.every((s) => s.destroyed || s.readableEnded), 20_000, 'every silent connection to be closed');
    await waitFor(() => rx!.r.connectionCount === 0, 5000, 'the receiver to hold no connection');
    const codes = new Set(rx.closed.map((e) => e.code));
    expect(codes.has('handshake-timeout')).toBe(true);
    // A real TLS sender still gets through.
    await keyHolderVerifies(rx, true);
  }, 60_000);

  it('a bounded flood of 2,000 connections never holds more than the caps, and a TLS key holder gets in (item 2)', async () => {
    rx = await startReceiver({ tls: true, handshakeTimeout: 30 });
    const flood: net.Socket[] = [];
    let peak = 0;
    for (let batch = 0; batch < 20; batch++) {
      flood.push(...(await silent(rx.ep.port, 100, `127.0.1.${1 + (batch % 8)}`)));
      peak = Math.max(peak, rx.r.connectionCount);
    }
    // Seen from the clients: the receiver closed all but what its caps hold (none of them started TLS).
    const open = () => flood.filter((s) => !s.destroyed && !s.readableEnded).length;
    await waitFor(() => open() <= 256, 20_000, 'the receiver to close what its caps do not hold');
    await keyHolderVerifies(rx, true);
    expect(peak).toBeLessThanOrEqual(256);
    expect(rx.r.unauthenticatedCount).toBeLessThanOrEqual(128);
  }, 120_000);
});
