// Shared helpers for the TCP transport tests: a loopback receiver, a raw (hand-driven) client, and a
// bounded wait.
import net from 'node:net';
import { randomBytes, createHash } from 'node:crypto';
import { Receiver, type ChannelClosedEvent, type ReceiverOptions } from '../../../src/transport/tcp/receiver.js';
import { MemorySink, type Sink } from '../../../src/transport/tcp/sinks.js';
import { FrameReader } from '../../../src/transport/tcp/frame-reader.js';
import { encodeFrame, FrameType, NO_SESSION, type FrameHeader } from '../../../src/transport/tcp/frame.js';
import { makeAuthRequest, parseAuthOk } from '../../../src/transport/tcp/auth.js';
import type { Endpoint } from '../../../src/transport/tcp/address.js';

export const KEY = Buffer.from('0123456789abcdef0123456789abcdef');

export interface TestReceiver {
  r: Receiver;
  ep: Endpoint;
  closed: ChannelClosedEvent[];
  sinks: MemorySink[];
  stop(): Promise<void>;
}

export async function startReceiver(opts: Partial<ReceiverOptions> = {}, makeSink?: (size: number) => Sink): Promise<TestReceiver> {
  const sinks: MemorySink[] = [];
  const r = new Receiver({
    listen: [{ host: '127.0.0.1', port: 0 }],
    key: KEY,
    sink: ({ size }) => {
      if (makeSink) return makeSink(size);
      const s = new MemorySink(size);
      sinks.push(s);
      return s;
    },
    ...opts,
  });
  const closed: ChannelClosedEvent[] = [];
  r.on('channel-closed', (e: ChannelClosedEvent) => closed.push(e));
  const [ep] = await r.listen();
  return { r, ep: ep!, closed, sinks, stop: () => r.close() };
}

/** Wait until `cond()` holds, polling every 10 ms, for at most `ms`. */
export async function waitFor(cond: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function sha256(b: Uint8Array): Buffer {
  return createHash('sha256').update(b).digest();
}

/** A client driven by hand: frames in, frames out, for protocol tests. */
export class RawClient {
  readonly frames: { h: FrameHeader; payload: Buffer }[] = [];
  closed = false;
  private readonly reader: FrameReader;
  constructor(readonly sock: net.Socket) {
    this.reader = new FrameReader({
      dataStart: () => undefined,
      dataPiece: () => undefined,
      dataEnd: () => undefined,
      frame: (h, payload) => this.frames.push({ h, payload }),
    });
    sock.on('data', (b) => {
      try {
        this.reader.push(b);
      } catch {
        sock.destroy();
      }
    });
    sock.on('close', () => (this.closed = true));
    sock.on('error', () => undefined);
  }

  static async connect(ep: Endpoint): Promise<RawClient> {
    const sock = net.connect(ep.port, ep.host);
    await new Promise<void>((res, rej) => {
      sock.once('connect', () => res());
      sock.once('error', rej);
    });
    return new RawClient(sock);
  }

  async next(type: number, ms = 3000): Promise<{ h: FrameHeader; payload: Buffer }> {
    await waitFor(() => this.frames.some((f) => f.h.type === type) || this.closed, ms, `frame type ${type}`);
    const i = this.frames.findIndex((f) => f.h.type === type);
    if (i < 0) throw new Error(`connection closed before frame type ${type}`);
    return this.frames.splice(i, 1)[0]!;
  }

  /** Answer the challenge; resolves with the session id (or throws when refused). */
  async auth(key: Buffer, opts: { mode?: 'new' | 'bind'; session?: string; channel?: number; size?: number } = {}): Promise<string> {
    const ch = await this.next(FrameType.CHALLENGE);
    const req = makeAuthRequest(key, ch.payload, {
      mode: opts.mode ?? 'new',
      channel: opts.channel ?? 0,
      declaredSize: opts.size ?? 1 << 20,
      session: opts.session ?? NO_SESSION,
    });
    this.lastAuth = req.payload;
    this.sock.write(encodeFrame({ type: FrameType.AUTH, flags: 0, session: NO_SESSION, channel: opts.channel ?? 0, seq: 0, offset: 0 }, req.payload));
    await waitFor(() => this.frames.some((f) => f.h.type === FrameType.AUTH_OK || f.h.type === FrameType.ERROR) || this.closed, 3000, 'AUTH_OK');
    const ok = this.frames.find((f) => f.h.type === FrameType.AUTH_OK);
    if (!ok) throw new Error('refused');
    return parseAuthOk(ok.payload).session;
  }
  lastAuth: Buffer | undefined;

  data(session: string, channel: number, seq: number, offset: number, payload: Buffer): Buffer {
    return encodeFrame({ type: FrameType.DATA, flags: 0, session, channel, seq, offset }, payload);
  }

  async waitClosed(ms = 3000): Promise<void> {
    await waitFor(() => this.closed, ms, 'the receiver to close the connection');
  }
}

export function randomData(n: number): Buffer {
  return randomBytes(n);
}
