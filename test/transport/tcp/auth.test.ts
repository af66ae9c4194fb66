import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeFrame, FrameType, NO_SESSION } from '../../../src/transport/tcp/frame.js';
import { AuthError, loadKey } from '../../../src/transport/tcp/auth.js';
import { Receiver } from '../../../src/transport/tcp/receiver.js';
import { SenderSession } from '../../../src/transport/tcp/sender.js';
import { InputError } from '../../../src/errors.js';
import { KEY, RawClient, randomData, sha256, startReceiver, waitFor, type TestReceiver } from './helpers.js';

let rx: TestReceiver | undefined;
afterEach(async () => {
  await rx?.stop();
  rx = undefined;
});

/** A correct client still gets through and its data verifies. */
async function correctClientWorks(t: TestReceiver): Promise<void> {
  const data = randomData(300_000);
  const s = await SenderSession.open({ targets: [t.ep], channelsPerTarget: 2, key: KEY, size: data.length, chunkSize: 65536 });
  await s.write(0, data);
  const r = await s.commit(sha256(data));
  s.close();
  expect(r.status).toBe('verified');
}

describe('authentication and binding', () => {
  it('closes a connection that sends data without a handshake, accepting nothing, then serves a correct client', async () => {
    rx = await startReceiver();
    const c = await RawClient.connect(rx.ep);
    c.sock.write(c.data(NO_SESSION, 0, 0, 0, Buffer.alloc(100, 1)));
    await c.waitClosed();
    await waitFor(() => rx!.closed.length === 1);
    expect(rx.closed[0]).toMatchObject({ code: 'unauthenticated', authenticated: false, bytes: 0 });
    expect(rx.r.sessions.size).toBe(0);
    await correctClientWorks(rx);
  });

  it('refuses a wrong key (sender gets E_AUTH) and then serves a correct client', async () => {
    rx = await startReceiver();
    const err = await SenderSession.open({ targets: [rx.ep], key: Buffer.from('a wrong key, long enough'), size: 10 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect((err as AuthError).code).toBe('E_AUTH');
    await waitFor(() => rx!.closed.length === 1);
    expect(rx.closed[0]!.code).toBe('unauthenticated');
    expect(rx.r.sessions.size).toBe(0);
    await correctClientWorks(rx);
  });

  it('rejects a replayed answer to an earlier challenge before any data', async () => {
    rx = await startReceiver();
    const first = await RawClient.connect(rx.ep);
    await first.auth(KEY);
    const recorded = first.lastAuth!;
    const replay = await RawClient.connect(rx.ep);
    await replay.next(FrameType.CHALLENGE);
    replay.sock.write(encodeFrame({ type: FrameType.AUTH, flags: 0, session: NO_SESSION, channel: 0, seq: 0, offset: 0 }, recorded));
    replay.sock.write(replay.data(NO_SESSION, 0, 1, 0, Buffer.alloc(10)));
    await replay.waitClosed();
    expect((await replay.next(FrameType.ERROR).catch(() => undefined))?.payload.toString()).toBe('authentication failed');
    const ev = rx.closed.find((e) => !e.authenticated)!;
    expect(ev.code).toBe('unauthenticated');
    expect(ev.bytes).toBe(0);
    first.sock.destroy();
    await correctClientWorks(rx);
  });

  it('refuses to bind a channel to a session that does not exist', async () => {
    rx = await startReceiver();
    const c = await RawClient.connect(rx.ep);
    await expect(c.auth(KEY, { mode: 'bind', session: '0123456789abcdef', channel: 1 })).rejects.toThrow(/refused/);
    await waitFor(() => rx!.closed.length === 1);
    expect(rx.closed[0]!.code).toBe('unknown-session');
  });

  it('without a key refuses to start unless --insecure, and --insecure only on loopback', () => {
    const sink = () => {
      throw new Error('unused');
    };
    expect(() => new Receiver({ listen: [{ host: '127.0.0.1', port: 0 }], sink })).toThrow(InputError);
    expect(() => new Receiver({ listen: [{ host: '0.0.0.0', port: 0 }], insecure: true, sink })).toThrow(/--insecure.*loopback/);
    expect(() => new Receiver({ listen: [{ host: '::1', port: 0 }, { host: '127.0.0.2', port: 0 }], insecure: true, sink })).not.toThrow();
  });

  it('--insecure on loopback works end to end with an insecure sender, and a keyed sender is refused', async () => {
    rx = await startReceiver({ key: undefined, insecure: true });
    const data = randomData(100_000);
    const s = await SenderSession.open({ targets: [rx.ep], insecure: true, size: data.length });
    await s.write(0, data);
    expect((await s.commit(sha256(data))).status).toBe('verified');
    s.close();
    await expect(SenderSession.open({ targets: [rx.ep], key: KEY, size: 1 })).rejects.toBeInstanceOf(AuthError);
  });

  it('loads the key from a file (trailing newline removed) or MIGBENCH_KEY, and rejects short keys', () => {
    const dir = mkdtempSync(join(tmpdir(), 'migbench-key-'));
    const f = join(dir, 'key');
    writeFileSync(f, 'abcdefghijklmnopqrstuvwxyz\n');
    expect(loadKey({ keyFile: f })!.toString()).toBe('abcdefghijklmnopqrstuvwxyz');
    expect(loadKey({ env: { MIGBENCH_KEY: 'zyxwvutsrqponmlkjihg' } })!.toString()).toBe('zyxwvutsrqponmlkjihg');
    expect(loadKey({ env: {} })).toBeUndefined();
    writeFileSync(f, 'short\n');
    expect(() => loadKey({ keyFile: f })).toThrow(/--key-file.*at least 16 bytes/);
    expect(() => loadKey({ keyFile: join(dir, 'missing') })).toThrow(/--key-file/);
  });

  it('TLS (PSK from the key) carries a verified stream', async () => {
    rx = await startReceiver({ tls: true });
    const data = randomData(500_000);
    const s = await SenderSession.open({ targets: [rx.ep], channelsPerTarget: 2, key: KEY, tls: true, size: data.length, chunkSize: 100_000 });
    await s.write(0, data);
    expect((await s.commit(sha256(data))).status).toBe('verified');
    s.close();
    expect(Buffer.compare(rx.sinks[0]!.read(0, data.length), data)).toBe(0);
  });
});
