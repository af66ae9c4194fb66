import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SenderSession } from '../../../src/transport/tcp/sender.js';
import { AllChannelsLostError } from '../../../src/transport/striper.js';
import { DiscardSink, FileSink } from '../../../src/transport/tcp/sinks.js';
import { PatternSource } from '../../../src/transport/tcp/source.js';
import type { Conn } from '../../../src/transport/tcp/receiver-conn.js';
import type { ReceiverSession } from '../../../src/transport/tcp/receiver-session.js';
import { KEY, randomData, sha256, startReceiver, waitFor, type TestReceiver } from './helpers.js';

let rx: TestReceiver | undefined;
afterEach(async () => {
  await rx?.stop();
  rx = undefined;
});

type KillKind = 'sender-destroy' | 'receiver-close' | 'stall';

function kill(s: SenderSession, session: ReceiverSession | undefined, channel: number, kind: KillKind): void {
  if (kind === 'sender-destroy') s.channels[channel]!.socket?.destroy();
  else {
    const conn = session?.channels.get(channel) as Conn | undefined;
    if (!conn) return;
    if (kind === 'receiver-close') conn.close('test kill', 'test');
    else conn.socket.pause(); // stops reading: the sender sees no acks and times the channel out
  }
}

describe('TCP transfer', () => {
  it('delivers a stream over 4 channels into memory, verified, with per-channel stats', async () => {
    rx = await startReceiver();
    const data = randomData(3_000_000);
    const s = await SenderSession.open({ targets: [rx.ep], channelsPerTarget: 4, key: KEY, size: data.length, chunkSize: 65536 });
    for (let off = 0; off < data.length; off += 500_000) await s.write(off, data.subarray(off, off + 500_000));
    const r = await s.commit(sha256(data));
    expect(r).toMatchObject({ status: 'verified', covered: data.length });
    expect(r.sha256!.equals(sha256(data))).toBe(true);
    const st = s.stats();
    s.close();
    expect(st.bytesAcked).toBe(data.length);
    expect(st.channels.length).toBe(4);
    expect(st.channels.every((c) => c.bytesAcked > 0)).toBe(true);
    expect(st.channels.reduce((t, c) => t + c.bytesAcked, 0)).toBe(data.length);
    expect(Buffer.compare(rx.sinks[0]!.read(0, data.length), data)).toBe(0);
  });

  it('calls a write\'s onWritten once, after the receiver wrote all of it, also when a channel failed over', async () => {
    rx = await startReceiver();
    const data = randomData(4_000_000);
    const s = await SenderSession.open({ targets: [rx.ep], channelsPerTarget: 2, key: KEY, size: data.length, chunkSize: 65536 });
    const calls: number[] = [];
    const pieces = 8;
    const piece = data.length / pieces;
    for (let i = 0; i < pieces; i++) {
      await s.write(i * piece, data.subarray(i * piece, (i + 1) * piece), () => {
        // Called only once the receiver holds these bytes.
        expect(Buffer.compare(rx!.sinks[0]!.read(i * piece, piece), data.subarray(i * piece, (i + 1) * piece))).toBe(0);
        calls.push(i);
      });
      if (i === 3) s.channels[0]!.socket?.destroy();
    }
    await s.flush();
    s.close();
    expect([...calls].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    let empty = 0;
    await s.write(0, new Uint8Array(0), () => empty++).catch(() => undefined);
    expect(empty).toBe(0); // closed: rejected, never called
  });

  it('writes a file atomically (temp file renamed after the verified commit); a bad hash leaves no file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'migbench-rx-'));
    let n = 0;
    rx = await startReceiver({ sink: ({ size }) => FileSink.create(join(dir, `out${n++}.bin`), size) });
    const data = randomData(1_000_000);
    const s = await SenderSession.open({ targets: [rx.ep], channelsPerTarget: 3, key: KEY, size: data.length, chunkSize: 40_000 });
    await s.write(0, data);
    expect((await s.commit(sha256(data))).status).toBe('verified');
    s.close();
    expect(readFileSync(join(dir, 'out0.bin')).equals(data)).toBe(true);
    const bad = await SenderSession.open({ targets: [rx.ep], key: KEY, size: data.length });
    await bad.write(0, data);
    const r = await bad.commit(sha256(Buffer.from('something else')));
    bad.close();
    expect(r.status).toBe('mismatch');
    await waitFor(() => readdirSync(dir).length === 1, 3000, 'temp file removal');
    expect(readdirSync(dir)).toEqual(['out0.bin']);
  });

  it('a discard sink cannot hash: every byte arrives but the commit is "unchecked"; a hole is "incomplete"', async () => {
    rx = await startReceiver({ sink: () => new DiscardSink() });
    const data = randomData(200_000);
    const s = await SenderSession.open({ targets: [rx.ep], key: KEY, size: data.length });
    await s.write(0, data);
    expect((await s.commit(sha256(data))).status).toBe('unchecked');
    s.close();
    const h = await SenderSession.open({ targets: [rx.ep], key: KEY, size: data.length });
    await h.write(0, data.subarray(0, 100_000));
    const r = await h.commit(sha256(data));
    h.close();
    expect(r).toMatchObject({ status: 'incomplete', covered: 100_000 });
  });

  it('exchanges control messages both ways over the authenticated session', async () => {
    rx = await startReceiver();
    const got: string[] = [];
    rx.r.on('session', (sess: ReceiverSession) => {
      sess.on('control', (b: Buffer) => {
        got.push(b.toString());
        sess.sendControl(Buffer.from(`ack:${b.toString()}`)).catch(() => undefined);
      });
    });
    const s = await SenderSession.open({ targets: [rx.ep], channelsPerTarget: 2, key: KEY, size: 10 });
    const back: string[] = [];
    s.on('control', (b: Buffer) => back.push(b.toString()));
    await s.sendControl(Buffer.from('round-done:1'));
    await s.sendControl(Buffer.from('device-state'));
    await waitFor(() => back.length === 2);
    s.close();
    expect(got).toEqual(['round-done:1', 'device-state']);
    expect(back).toEqual(['ack:round-done:1', 'ack:device-state']);
  });

  it('failover property: any kill schedule leaving one channel alive delivers identical bytes, across barriers', async () => {
    const size = 600_000;
    const block = 100_000;
    const killArb = fc.record({
      round: fc.nat(2),
      block: fc.nat(size / block - 1),
      kind: fc.constantFrom<KillKind>('sender-destroy', 'receiver-close', 'stall'),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(killArb, { maxLength: 3 }), fc.constantFrom('least-loaded' as const, 'round-robin' as const), async (kills, policy) => {
        const t = await startReceiver();
        try {
          let session: ReceiverSession | undefined;
          t.r.on('session', (x: ReceiverSession) => (session = x));
          const s = await SenderSession.open({ targets: [t.ep], channelsPerTarget: 4, key: KEY, size, chunkSize: 16_384, window: 65_536, policy, channelTimeout: 0.3 });
          // Each kill takes a different channel (the i-th kill takes channel i), so one always survives.
          let last: Buffer = Buffer.alloc(0);
          for (let round = 0; round < 3; round++) {
            last = randomData(size); // every round rewrites every offset: old data must never win
            for (let b = 0; b < size / block; b++) {
              await s.write(b * block, last.subarray(b * block, (b + 1) * block));
              kills.forEach((k, i) => k.round === round && k.block === b && kill(s, session, i, k.kind));
            }
            await s.flush();
          }
          const r = await s.commit(sha256(last));
          s.close();
          expect(r.status).toBe('verified');
          expect(Buffer.compare(t.sinks[0]!.read(0, size), last)).toBe(0);
          const failures = s.stats().channels.filter((c) => c.failure !== null).length;
          expect(failures).toBeLessThanOrEqual(kills.length);
          expect(failures).toBeGreaterThanOrEqual(kills.filter((k) => k.kind !== 'stall').length);
        } finally {
          await t.stop();
        }
      }),
      { numRuns: 12 },
    );
  });

  it('killing every channel is a typed E_TRANSPORT failure naming each channel', async () => {
    rx = await startReceiver();
    const s = await SenderSession.open({ targets: [rx.ep], channelsPerTarget: 3, key: KEY, size: 10_000_000, chunkSize: 16_384, window: 65_536 });
    const failed: unknown[] = [];
    s.on('failed', (e) => failed.push(e));
    const data = randomData(10_000_000);
    const writing = (async () => {
      for (let off = 0; off < data.length; off += 100_000) await s.write(off, data.subarray(off, off + 100_000));
      return s.commit(sha256(data));
    })();
    for (const c of s.channels) c.socket!.destroy();
    const err = await writing.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AllChannelsLostError);
    expect((err as AllChannelsLostError).code).toBe('E_TRANSPORT');
    expect((err as Error).message).toMatch(/all 3 channels lost.*channel 0: .*channel 1: .*channel 2: /);
    expect(failed.length).toBe(1);
    s.close();
  });

  it('computes CRCs on a worker thread for shared memory, and still fails over', async () => {
    rx = await startReceiver();
    const src = new PatternSource(7, 300_007);
    const size = 2_000_000;
    const s = await SenderSession.open({ targets: [rx.ep], channelsPerTarget: 3, key: KEY, size, chunkSize: 32_768, crcThreads: 1 });
    for (let off = 0; off < size; off += 250_000) {
      await s.write(off, src.view(off, 250_000));
      if (off === 500_000) s.channels[1]!.socket!.destroy();
    }
    const r = await s.commit(src.sha256(size, 250_000));
    s.close();
    expect(r.status).toBe('verified');
    expect(s.stats().channels[1]!.failure).not.toBeNull();
    const expected = Buffer.concat(Array.from({ length: size / 250_000 }, (_, i) => src.view(i * 250_000, 250_000)));
    expect(Buffer.compare(rx.sinks[0]!.read(0, size), expected)).toBe(0);
  });

  it('per-channel rate limit: a token bucket paces each channel', async () => {
    rx = await startReceiver();
    const data = randomData(400_000);
    const s = await SenderSession.open({ targets: [rx.ep], channelsPerTarget: 2, key: KEY, size: data.length, chunkSize: 16_384, rate: 1e6 });
    const t0 = performance.now();
    await s.write(0, data);
    expect((await s.commit(sha256(data))).status).toBe('verified');
    s.close();
    // 2 channels at 1 MB/s each: at least (400 kB - 2 bursts of 64 KiB) / 2 MB/s = 0.13 s.
    expect((performance.now() - t0) / 1000).toBeGreaterThan(0.12);
  });
});
