import { afterEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import { crc32c } from '../../../src/transport/tcp/crc.js';
import { encodeFrame, FrameType, HEADER_SIZE, MAGIC } from '../../../src/transport/tcp/frame.js';
import { SenderSession } from '../../../src/transport/tcp/sender.js';
import type { Sink } from '../../../src/transport/tcp/sinks.js';
import { KEY, RawClient, randomData, sha256, startReceiver, waitFor, type TestReceiver } from './helpers.js';

let rx: TestReceiver | undefined;
afterEach(async () => {
  await rx?.stop();
  rx = undefined;
});

/** Authenticate a raw client, send `frame(session)`, expect the channel closed with `code`. */
async function expectClosed(t: TestReceiver, code: string, frame: (session: string, c: RawClient) => Buffer): Promise<void> {
  const before = t.closed.length;
  const c = await RawClient.connect(t.ep);
  const session = await c.auth(KEY, { size: 1000 });
  c.sock.write(frame(session, c));
  await c.waitClosed();
  await waitFor(() => t.closed.length > before);
  const ev = t.closed[t.closed.length - 1]!;
  expect(ev.code).toBe(code);
  expect(ev.reason.length).toBeGreaterThan(5);
}

async function correctClientWorks(t: TestReceiver): Promise<void> {
  const data = randomData(200_000);
  const s = await SenderSession.open({ targets: [t.ep], channelsPerTarget: 2, key: KEY, size: data.length, chunkSize: 50_000 });
  await s.write(0, data);
  expect((await s.commit(sha256(data))).status).toBe('verified');
  s.close();
}

function withHeaderCrc(b: Buffer): Buffer {
  b.writeUInt32BE(crc32c(b.subarray(0, 44)) >>> 0, 44);
  return b;
}

describe('receiver hardening', () => {
  it('closes only the offending channel, with a logged reason, for each kind of malformed frame', async () => {
    const logged: string[] = [];
    rx = await startReceiver({ limits: { maxData: 4096 }, log: (e) => e.code && logged.push(e.code) });
    // A healthy session stays up on the side while others misbehave.
    const keeper = await RawClient.connect(rx.ep);
    const keeperSession = await keeper.auth(KEY, { size: 1000 });
    const ok = (s: string, c: RawClient) => c.data(s, 0, 1, 0, Buffer.alloc(10, 7));

    await expectClosed(rx, 'bad-magic', (s, c) => {
      const f = ok(s, c);
      f.writeUInt32BE(MAGIC ^ 1, 0);
      return f;
    });
    await expectClosed(rx, 'bad-version', (s, c) => {
      const f = ok(s, c);
      f[4] = 2;
      return withHeaderCrc(f);
    });
    await expectClosed(rx, 'unknown-session', (_s, c) => c.data('feedfacefeedface', 0, 1, 0, Buffer.alloc(10)));
    await expectClosed(rx, 'oversized', (s, c) => c.data(s, 0, 1, 0, Buffer.alloc(5000)));
    await expectClosed(rx, 'out-of-range', (s, c) => c.data(s, 0, 1, 995, Buffer.alloc(10)));
    await expectClosed(rx, 'payload-crc', (s, c) => {
      const f = ok(s, c);
      f[HEADER_SIZE + 3]! ^= 0x40;
      return f;
    });
    await expectClosed(rx, 'header-crc', (s, c) => {
      const f = ok(s, c);
      f[30]! ^= 1;
      return f;
    });
    await expectClosed(rx, 'unexpected', (s) => encodeFrame({ type: FrameType.AUTH_OK, flags: 0, session: s, channel: 0, seq: 0, offset: 0 }));
    expect(logged).toEqual(expect.arrayContaining(['bad-magic', 'bad-version', 'unknown-session', 'oversized', 'out-of-range', 'payload-crc']));

    // The keeper's channel is still served: its data is written and acknowledged.
    keeper.sock.write(keeper.data(keeperSession, 0, 42, 0, Buffer.alloc(100, 9)));
    const ack = await keeper.next(FrameType.ACK);
    expect(ack.payload.readUInt32BE(4)).toBe(42);
    expect(keeper.closed).toBe(false);
    keeper.sock.destroy();
    await correctClientWorks(rx);
  });

  it('caps connections per address and in total: a newcomer evicts the oldest unauthenticated one, and is refused only when all are authenticated', async () => {
    rx = await startReceiver({ maxPerAddress: 2, maxConnections: 10 });
    const challenged = (x: RawClient) => waitFor(() => x.frames.length > 0, 3000, 'the challenge');
    const refused: string[] = [];
    rx.r.on('refused', (e: { reason: string }) => refused.push(e.reason));
    const a = await RawClient.connect(rx.ep);
    await challenged(a);
    const b = await RawClient.connect(rx.ep);
    await challenged(b);
    // A third from the same address: the oldest unauthenticated (a) makes room.
    const c = await RawClient.connect(rx.ep);
    await challenged(c);
    await a.waitClosed();
    expect(rx.closed.find((e) => e.code === 'evicted')?.reason).toMatch(/2 connections from 127\.0\.0\.1/);
    expect(b.closed || c.closed).toBe(false);
    // Both authenticated: now a newcomer from that address is refused at accept.
    await b.auth(KEY);
    await c.auth(KEY);
    const d = await RawClient.connect(rx.ep);
    await d.waitClosed();
    expect(refused[0]).toMatch(/2 connections from 127\.0\.0\.1, all authenticated/);
    expect(b.closed || c.closed).toBe(false);
    b.sock.destroy();
    await waitFor(() => rx!.r.connectionCount === 1);
    const e = await RawClient.connect(rx.ep);
    await challenged(e);
    expect(e.closed).toBe(false);
    c.sock.destroy();
    e.sock.destroy();
  });

  it('drops a connection that does not authenticate in time, and one that goes idle', async () => {
    // Margins wide enough for a loaded 2-core machine: authenticating takes milliseconds, the limits are 1 s.
    rx = await startReceiver({ handshakeTimeout: 1, idleTimeout: 1.5 });
    const silent = await RawClient.connect(rx.ep);
    await silent.waitClosed(10_000);
    expect(rx.closed[0]!.code).toBe('handshake-timeout');
    const idle = await RawClient.connect(rx.ep);
    await idle.auth(KEY);
    await idle.waitClosed(10_000);
    expect(rx.closed[1]!.code).toBe('idle');
  });

  it('keeps memory bounded by the window under a flood into a slow sink', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const slow: Sink = {
      kind: 'file',
      sync: false,
      writePiece: () => undefined,
      writeOwned: () => gate,
      digest: async () => null,
      finish: async () => undefined,
    };
    const window = 1 << 20;
    rx = await startReceiver({ window, totalWindow: 2 << 20, limits: { maxData: 65536 }, readBufferSize: 65536 }, () => slow);
    const c = await RawClient.connect(rx.ep);
    const session = await c.auth(KEY, { size: 64 << 20 });
    // Try to push 64 MiB; the receiver must stop reading once its window is full.
    let sent = 0;
    const frame = (i: number) => c.data(session, 0, i, i * 65536, Buffer.alloc(65536, i & 0xff));
    for (let i = 0; i < 1024 && c.sock.writableLength < (8 << 20); i++) {
      c.sock.write(frame(i));
      sent += 65536;
    }
    await waitFor(() => rx!.r.pendingTotal > 0); // the receiver has started filling its window
    await new Promise((r) => setTimeout(r, 300)); // and had time to overrun it, if it would
    const peak = rx.r.pendingTotal;
    expect(peak).toBeGreaterThan(0);
    // Bounded: the window, plus what one read can complete, plus one frame.
    expect(peak).toBeLessThanOrEqual(window + 65536 + 65536 + HEADER_SIZE * 2);
    expect(sent).toBeGreaterThan(4 * window);
    release();
    await waitFor(() => rx!.r.pendingTotal === 0, 3000, 'the slow sink to drain');
    c.sock.destroy();
  });

  it('a garbage flood from an unauthenticated peer is cut off at once', async () => {
    rx = await startReceiver();
    const s = net.connect(rx.ep.port, rx.ep.host);
    s.on('error', () => undefined);
    await new Promise((r) => s.once('connect', r));
    s.write(Buffer.alloc(1 << 20, 0x41));
    await waitFor(() => rx!.closed.length === 1);
    expect(rx.closed[0]).toMatchObject({ code: 'bad-magic', authenticated: false, bytes: 0 });
    s.destroy();
    await correctClientWorks(rx);
  });
});
