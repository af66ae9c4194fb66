// Issue 15: strict fields at binding (item 7), the budget over open sessions and a memory sink that does
// not stall the receiver while it is prepared (item 6), and failures the sender can see (item 8).
import { afterEach, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MigbenchError } from '../../../src/errors.js';
import { SenderSession } from '../../../src/transport/tcp/sender.js';
import { FileSink, MemorySink, type Sink } from '../../../src/transport/tcp/sinks.js';
import { FrameType } from '../../../src/transport/tcp/frame.js';
import { KEY, RawClient, randomData, sha256, startReceiver, waitFor, type TestReceiver } from './helpers.js';

let rx: TestReceiver | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await rx?.stop();
  rx = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const temp = () => {
  const d = mkdtempSync(join(tmpdir(), 'migbench-limits-'));
  dirs.push(d);
  return d;
};

/** Authenticate a raw client with `opts`; returns the receiver's ERROR text (throws if it bound). */
async function refusedWith(t: TestReceiver, opts: Parameters<RawClient['auth']>[1]): Promise<string> {
  const c = await RawClient.connect(t.ep);
  try {
    await c.auth(KEY, opts);
  } catch {
    const err = c.frames.find((f) => f.h.type === FrameType.ERROR);
    c.sock.destroy();
    return err?.payload.toString('utf8') ?? '(closed without an ERROR)';
  }
  c.sock.destroy();
  throw new Error('the receiver bound the channel');
}

describe('binding: fields the protocol does not allow (item 7)', () => {
  it('refuses a channel index outside 0-31 and a declared size of 0, saying why', async () => {
    rx = await startReceiver();
    expect(await refusedWith(rx, { channel: 65535 })).toBe('channel index 65535 is outside 0-31');
    expect(await refusedWith(rx, { channel: 32 })).toBe('channel index 32 is outside 0-31');
    expect(await refusedWith(rx, { size: 0 })).toMatch(/declared stream size of 0 bytes/);
    await waitFor(() => rx!.closed.length >= 3);
    expect(rx.closed.map((e) => e.code)).toEqual(['bad-field', 'bad-field', 'bad-field']);
    expect(rx.r.sessions.size).toBe(0);
  });
});

describe('a budget over the open sessions (item 6)', () => {
  it('refuses a session that would exceed it, as a refusal the sender names (not an authentication failure)', async () => {
    rx = await startReceiver({ sizeBudget: 10 << 20 });
    const a = await SenderSession.open({ targets: [rx.ep], key: KEY, size: 8 << 20 });
    const err = await SenderSession.open({ targets: [rx.ep], key: KEY, size: 4 << 20 }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(MigbenchError);
    expect((err as MigbenchError).code).toBe('E_TRANSPORT');
    expect((err as Error).message).toMatch(/refused: the receiver's memory budget is 10485760 bytes and 8388608 are held by 1 open session\(s\)/);
    // Once the first session ends, its bytes are free again.
    a.close();
    await waitFor(() => rx!.r.sizeInUse === 0, 5000, 'the first session to end');
    const data = randomData(4 << 20);
    const b = await SenderSession.open({ targets: [rx.ep], key: KEY, size: data.length });
    await b.write(0, data);
    expect((await b.commit(sha256(data))).status).toBe('verified');
    b.close();
  });

  it('a session whose only channel left while its sink was being made is ended: its bytes and sink are freed', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    let finished: boolean | undefined;
    const sink: Sink = { kind: 'memory', sync: true, writePiece: () => undefined, writeOwned: async () => undefined, digest: async () => null, finish: async (ok) => void (finished = ok) };
    // The channel goes idle (1 s) while its session's sink is still being made (reading is paused then).
    rx = await startReceiver({ sizeBudget: 10 << 20, idleTimeout: 1, sink: async () => (await gate, sink) });
    const ended: string[] = [];
    rx.r.on('session-end', (s: { id: string }) => ended.push(s.id));
    const c = await RawClient.connect(rx.ep);
    void c.auth(KEY, { size: 8 << 20 }).catch(() => undefined);
    await waitFor(() => rx!.r.sizeInUse === 8 << 20, 5000, 'the session to be counted');
    await waitFor(() => rx!.r.connectionCount === 0, 10_000, 'the idle channel to close');
    c.sock.destroy();
    release();
    await waitFor(() => ended.length === 1, 5000, 'the unjoined session to end');
    expect(rx.r.sizeInUse).toBe(0);
    expect(finished).toBe(false);
    expect(rx.r.sessions.size).toBe(0);
  });

  it('a memory sink is touched in slices that let the event loop run (a large session does not stall the others)', async () => {
    const sink = new MemorySink(64 << 20);
    let turns = 0;
    const spin = setInterval(() => turns++, 0);
    await sink.prefault(4 << 20);
    clearInterval(spin);
    // 16 slices: other work ran in between (synchronous prefaulting would give 0).
    expect(turns).toBeGreaterThan(1);
  });
});

describe('failures the sender can see (item 8)', () => {
  it('a failed write (ENOSPC) fails the whole session at the sender with the receiver reason', async () => {
    const full: Sink = {
      kind: 'file',
      sync: false,
      writePiece: () => undefined,
      writeOwned: () => Promise.reject(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })),
      digest: async () => null,
      finish: async () => undefined,
    };
    rx = await startReceiver({}, () => full);
    const data = randomData(1 << 20);
    const s = await SenderSession.open({ targets: [rx.ep], channelsPerTarget: 4, key: KEY, size: data.length, chunkSize: 64 * 1024 });
    const err = await s.write(0, data).then(() => s.flush()).then(
      () => null,
      (e: unknown) => e as Error,
    );
    s.close();
    expect(err?.message).toMatch(/the receiver failed the session: the receiver could not write the stream: ENOSPC: no space left on device/);
    expect(err?.message).not.toMatch(/channels lost/);
  });

  it('a failed rename at the commit is reported (status failed) and leaves no temporary file', async () => {
    const dir = temp();
    const target = join(dir, 'out.bin');
    let sinkPath = '';
    rx = await startReceiver({ sink: async ({ size }) => {
      const f = await FileSink.create(target, size);
      sinkPath = f.tmpPath;
      // Something takes the name before the commit: a non-empty directory cannot be replaced by a file.
      mkdirSync(target);
      writeFileSync(join(target, 'x'), 'x');
      return f;
    } });
    const data = randomData(300_000);
    const s = await SenderSession.open({ targets: [rx.ep], key: KEY, size: data.length });
    await s.write(0, data);
    const r = await s.commit(sha256(data));
    s.close();
    expect(r.status).toBe('failed');
    expect(r.reason).toMatch(/the receiver could not keep the stream: cannot keep .*out\.bin: (EISDIR|ENOTEMPTY|EEXIST)/);
    expect(sinkPath).toMatch(/out\.bin\.tmp-\d+-[0-9a-f]{8}$/);
    expect(readdirSync(dir)).toEqual(['out.bin']);
  });
});
