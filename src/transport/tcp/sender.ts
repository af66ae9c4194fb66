// The sending session: stripes an offset-addressed stream over authenticated channels with the shared
// Striper, re-sends a failed channel's unacknowledged chunks on the survivors (after fencing the dead
// channel at the receiver), and offers the barrier (flush), control messages and the verified commit.
// See docs/transport.md for the API and its guarantees.

import { EventEmitter } from 'node:events';
import { MigbenchError, StateError } from '../../errors.js';
import { AllChannelsLostError, Striper, type Assignment, type StripePolicy } from '../striper.js';
import { INSECURE_KEY, openSigned } from './auth.js';
import { FrameType, ProtocolError, type FrameHeader } from './frame.js';
import { ACK_CONTROL, ACK_DATA, decodeCommitResult, decodeSeqs, decodeU16, encodeCommit, encodeSeqs, encodeU16, ERROR_SESSION_FAILED, type CommitResult } from './messages.js';
import { SenderChannel, type ChannelTarget } from './sender-channel.js';
import { CrcPool } from './crc-pool.js';
import { CHANNEL_WINDOW, CHUNK_SIZE } from '../defaults.js';

export interface SenderOptions {
  /** One entry per destination address; channel c goes to targets[c % targets.length]. */
  targets: ChannelTarget[];
  channelsPerTarget?: number;
  key?: Buffer;
  /** Use the fixed insecure key (the receiver must run with --insecure on loopback). */
  insecure?: boolean;
  tls?: boolean;
  /** Bytes of the stream, [0, size): the receiver sizes its sink by it. */
  size: number;
  chunkSize?: number;
  /** Bytes a channel may have unacknowledged (default 8 MiB). */
  window?: number;
  policy?: StripePolicy;
  /** Per-channel rate limit, bytes per second (token bucket). */
  rate?: number;
  /** A channel with unacknowledged data and no answer for this long (seconds, default 5) has failed. */
  channelTimeout?: number;
  connectTimeout?: number;
  /** Bytes accepted by write() and not yet acknowledged before write() makes the caller wait
   * (default max(64 MiB, 2 x channels x window)). */
  maxQueued?: number;
  /** Worker threads that compute CRC-32C for data in SharedArrayBuffers (default 0: inline). */
  crcThreads?: number;
}

export interface ChannelStats {
  id: number;
  target: string;
  localAddress: string | null;
  alive: boolean;
  bytesSent: number;
  bytesAcked: number;
  /** Acknowledged bytes over the time from the channel's first send to its last ack. */
  goodputBps: number;
  failure: string | null;
}

export interface SenderStats {
  session: string;
  bytesAcked: number;
  bytesResent: number;
  seconds: number;
  goodputBps: number;
  channels: ChannelStats[];
}

interface Region {
  offset: number;
  data: Buffer;
  left: number;
  /** Called once every byte of the region is acknowledged (written by the receiver). */
  done: (() => void) | undefined;
}

interface Pending {
  carrier: number | undefined;
}

export class SenderSession extends EventEmitter {
  striper: Striper;
  readonly channels: SenderChannel[];
  session = '';
  failure: MigbenchError | undefined;
  private readonly seqRegion = new Map<number, Region>();
  private queued = 0;
  private readonly maxQueued: number;
  private spaceWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private barriers: { token: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  private readonly fences = new Map<number, Pending>();
  private readonly controls = new Map<number, Pending & { body: Buffer; resolve: () => void; reject: (e: Error) => void }>();
  private readonly controlSeen = new Set<number>();
  private controlSeq = 0;
  private commitReq: (Pending & { body: Buffer; resolve: (r: CommitResult) => void; reject: (e: Error) => void }) | undefined;
  private pumping = false;
  private readonly watchdog: NodeJS.Timeout;
  private started = performance.now();
  private lastAckAt = performance.now();
  private closed = false;
  private readonly crcPool: CrcPool | undefined;

  private constructor(private readonly o: Required<Omit<SenderOptions, 'key' | 'rate'>> & { key: Buffer; rate: number | undefined }) {
    super();
    this.crcPool = o.crcThreads > 0 ? new CrcPool(o.crcThreads) : undefined;
    const n = o.targets.length * o.channelsPerTarget;
    const cfg = { key: o.key, tls: o.tls, connectTimeout: o.connectTimeout, ...(o.rate !== undefined ? { rate: o.rate } : {}) };
    this.channels = Array.from({ length: n }, (_, i) => new SenderChannel(i, o.targets[i % o.targets.length]!, cfg));
    this.striper = this.makeStriper(o.chunkSize);
    this.maxQueued = o.maxQueued;
    const tick = Math.max(20, (o.channelTimeout * 1000) / 4);
    this.watchdog = setInterval(() => this.checkStalls(), tick);
    this.watchdog.unref();
  }

  private makeStriper(chunkSize: number): Striper {
    return new Striper(
      this.channels.map((c) => ({ id: c.id, rate: this.o.rate ?? 1 })),
      { chunkSize, window: this.o.window, policy: this.o.policy, fencing: true },
    );
  }

  /** Connect every channel (the first creates the session, the others bind to it). */
  static async open(opts: SenderOptions): Promise<SenderSession> {
    if (!opts.key && !opts.insecure) throw new MigbenchError('E_INPUT', '--key-file: a pre-shared key is needed (--key-file FILE or MIGBENCH_KEY), or --insecure');
    if (opts.targets.length === 0) throw new MigbenchError('E_INPUT', '--to: at least one ADDR:PORT is needed');
    const s = new SenderSession({
      targets: opts.targets,
      channelsPerTarget: opts.channelsPerTarget ?? 1,
      key: opts.key ?? INSECURE_KEY,
      insecure: opts.insecure ?? false,
      tls: opts.tls ?? false,
      size: opts.size,
      chunkSize: opts.chunkSize ?? CHUNK_SIZE,
      window: opts.window ?? CHANNEL_WINDOW,
      policy: opts.policy ?? 'least-loaded',
      rate: opts.rate,
      channelTimeout: opts.channelTimeout ?? 5,
      connectTimeout: opts.connectTimeout ?? 30,
      crcThreads: opts.crcThreads ?? 0,
      maxQueued: opts.maxQueued ?? Math.max(64 * 2 ** 20, 2 * (opts.window ?? CHANNEL_WINDOW) * opts.targets.length * (opts.channelsPerTarget ?? 1)),
    });
    const [first, ...rest] = s.channels;
    try {
      const ok = await first!.connect('new', '0000000000000000', opts.size);
      s.session = ok.session;
      // The receiver announces its largest DATA payload; chunks never exceed it.
      if (ok.maxData < s.striper.chunkSize) s.striper = s.makeStriper(Math.max(1, ok.maxData));
    } catch (e) {
      s.close();
      throw e;
    }
    s.adopt(first!);
    const results = await Promise.allSettled(rest.map((c) => c.connect('bind', s.session, opts.size)));
    results.forEach((r, i) => {
      const ch = rest[i]!;
      if (r.status === 'fulfilled') s.adopt(ch);
      else if (r.reason instanceof MigbenchError && r.reason.code === 'E_AUTH') s.failChannelQuiet(ch, r.reason.message);
      else s.failChannelQuiet(ch, (r.reason as Error).message);
    });
    s.started = performance.now();
    s.lastAckAt = s.started;
    return s;
  }

  private adopt(ch: SenderChannel): void {
    ch.attach(
      (c, h, p) => this.onFrame(c, h, p),
      (c, reason) => this.failChannel(c, reason),
    );
    ch.onDrain = () => {
      ch.pausedDrain = false;
      this.striper.setPaused(ch.id, ch.pausedBucket);
      this.pump();
    };
  }

  /** Queue `data` for [offset, offset + data.length). Keep `data` unchanged until flush() resolves, or
   * until `onWritten` is called: once every byte of this write has been written by the receiver (not
   * called if the session fails first). Resolves when the queue has room (backpressure); rejects when
   * every channel is lost. */
  write(offset: number, data: Uint8Array, onWritten?: () => void): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new StateError('sender session is closed'));
    if (offset + data.length > this.o.size) return Promise.reject(new StateError(`write [${offset}, ${offset + data.length}) past the declared size ${this.o.size}`));
    if (data.length === 0) {
      onWritten?.();
      return Promise.resolve();
    }
    const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const region: Region = { offset, data: buf, left: buf.length, done: onWritten };
    this.striper.enqueue(offset, buf.length, region);
    this.queued += buf.length;
    this.pump();
    if (this.queued <= this.maxQueued) return Promise.resolve();
    return new Promise((resolve, reject) => this.spaceWaiters.push({ resolve, reject }));
  }

  /** Barrier: resolves when everything written before the call has been written by the receiver; data
   * written after it is sent only then, so it is never overtaken by older data. */
  flush(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    const token = this.striper.barrier();
    if (this.striper.barrierPassed(token)) return Promise.resolve();
    return new Promise((resolve, reject) => this.barriers.push({ token, resolve, reject }));
  }

  /** Send an application control message; resolves when the receiver acknowledged it. Control messages
   * are not ordered with data: flush() first when one must follow the data. */
  sendControl(body: Uint8Array): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    const seq = ++this.controlSeq;
    return new Promise((resolve, reject) => {
      this.controls.set(seq, { carrier: undefined, body: Buffer.from(body), resolve, reject });
      this.pumpRequests();
    });
  }

  /** Flush, then ask the receiver to check the stream against `sha256` (null: no hash). */
  async commit(sha256: Buffer | null): Promise<CommitResult> {
    await this.flush();
    if (this.failure) throw this.failure;
    return new Promise((resolve, reject) => {
      this.commitReq = { carrier: undefined, body: encodeCommit({ size: this.o.size, sha256 }), resolve, reject };
      this.pumpRequests();
    });
  }

  /** Close every channel (after a commit, or to give up); anything still waiting is rejected. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.watchdog);
    this.crcPool?.close();
    for (const c of this.channels) if (!c.ended || c.alive) c.close();
    const err = new StateError('sender session closed');
    for (const w of this.spaceWaiters) w.reject(err);
    for (const b of this.barriers) b.reject(err);
    for (const c of this.controls.values()) c.reject(err);
    this.commitReq?.reject(err);
    this.spaceWaiters = [];
    this.barriers = [];
    this.controls.clear();
    this.commitReq = undefined;
  }

  stats(): SenderStats {
    const st = this.striper.stats();
    const seconds = (this.lastAckAt - this.started) / 1000;
    return {
      session: this.session,
      bytesAcked: st.bytesAcked,
      bytesResent: st.bytesResent,
      seconds,
      goodputBps: seconds > 0 ? st.bytesAcked / seconds : 0,
      channels: this.channels.map((c) => {
        const t = c.firstSend !== undefined && c.lastAck !== undefined ? (c.lastAck - c.firstSend) / 1000 : 0;
        return {
          id: c.id,
          target: `${c.target.host}:${c.target.port}`,
          localAddress: c.target.localAddress ?? null,
          alive: c.alive,
          bytesSent: c.bytesSent,
          bytesAcked: c.bytesAcked,
          goodputBps: t > 0 ? c.bytesAcked / t : 0,
          failure: c.failure ?? null,
        };
      }),
    };
  }

  // -------------------------------------------------------------------------------------------------

  private pump(): void {
    if (this.pumping || this.failure) return;
    this.pumping = true;
    try {
      for (let a = this.striper.nextAssignment(); a; a = this.striper.nextAssignment()) this.sendChunk(a);
    } finally {
      this.pumping = false;
    }
  }

  private sendChunk(a: Assignment): void {
    const ch = this.channels[a.channel]!;
    const region = a.tag as Region;
    this.seqRegion.set(a.seq, region);
    if (this.striper.inFlightBytes(ch.id) === a.length) ch.lastProgress = performance.now();
    const at = a.offset - region.offset;
    const payload = region.data.subarray(at, at + a.length);
    if (this.crcPool && CrcPool.shareable(payload)) {
      this.crcPool.crc(payload, (crc) => {
        // The channel may have failed meanwhile: its chunks were requeued, this one is not ours to send.
        if (!ch.alive || this.seqRegion.get(a.seq) !== region) return;
        if (!ch.sendData(a.seq, a.offset, payload, crc)) {
          ch.pausedDrain = true;
          this.striper.setPaused(ch.id, true);
        }
      });
    } else if (!ch.sendData(a.seq, a.offset, payload)) ch.pausedDrain = true;
    const wait = ch.bucket?.delay(performance.now() / 1000) ?? 0;
    if (wait > 0) {
      ch.pausedBucket = true;
      setTimeout(() => {
        ch.pausedBucket = false;
        if (ch.alive) this.striper.setPaused(ch.id, ch.pausedDrain);
        this.pump();
      }, Math.ceil(wait * 1000));
    }
    if (ch.pausedDrain || ch.pausedBucket) this.striper.setPaused(ch.id, true);
  }

  private onFrame(ch: SenderChannel, h: FrameHeader, payload: Buffer): void {
    try {
      if (h.session !== this.session) throw new ProtocolError('unknown-session', `frame for session ${h.session}`);
      switch (h.type) {
        case FrameType.ACK:
          if (h.flags === ACK_DATA) this.onAcks(ch, decodeSeqs(payload));
          else if (h.flags === ACK_CONTROL) {
            for (const seq of decodeSeqs(payload)) {
              const c = this.controls.get(seq);
              if (c) {
                this.controls.delete(seq);
                ch.outstanding = Math.max(0, ch.outstanding - 1);
                c.resolve();
              }
            }
          } else throw new ProtocolError('bad-field', `ACK flags ${h.flags}`);
          return;
        case FrameType.FENCE_ACK: {
          const id = decodeU16(openSigned(ch.key!, h, payload), 'FENCE_ACK');
          if (this.fences.delete(id)) {
            ch.outstanding = Math.max(0, ch.outstanding - 1);
            this.striper.fenceConfirmed(id);
            this.settleBarriers();
            this.pump();
          }
          return;
        }
        case FrameType.COMMIT_RESULT: {
          const r = decodeCommitResult(openSigned(ch.key!, h, payload));
          const req = this.commitReq;
          if (req) {
            this.commitReq = undefined;
            ch.outstanding = Math.max(0, ch.outstanding - 1);
            req.resolve(r);
          }
          return;
        }
        case FrameType.CONTROL: {
          const body = openSigned(ch.key!, h, payload);
          ch.send(FrameType.ACK, ACK_CONTROL, 0, encodeSeqs([h.seq]));
          if (!this.controlSeen.has(h.seq)) {
            this.controlSeen.add(h.seq);
            this.emit('control', body);
          }
          return;
        }
        case FrameType.ERROR:
          // The receiver abandoned the session (its storage failed): no other channel can help.
          if (h.flags & ERROR_SESSION_FAILED) return this.failSession(`the receiver failed the session: ${payload.toString('utf8')}`);
          this.failChannel(ch, `the receiver closed the channel: ${payload.toString('utf8')}`);
          return;
        default:
          throw new ProtocolError('unexpected', `frame type ${h.type} from the receiver`);
      }
    } catch (e) {
      this.failChannel(ch, `protocol error from the receiver: ${(e as Error).message}`);
    }
  }

  private onAcks(ch: SenderChannel, seqs: number[]): void {
    const now = performance.now();
    for (const seq of seqs) {
      const n = this.striper.ack(ch.id, seq);
      if (n === 0) continue;
      ch.bytesAcked += n;
      const region = this.seqRegion.get(seq)!;
      this.seqRegion.delete(seq);
      region.left -= n;
      if (region.left === 0) {
        this.queued -= region.data.length;
        region.done?.();
      }
    }
    ch.lastAck = now;
    this.lastAckAt = now;
    while (this.queued <= this.maxQueued && this.spaceWaiters.length > 0) this.spaceWaiters.shift()!.resolve();
    this.settleBarriers();
    this.pump();
  }

  private settleBarriers(): void {
    if (this.barriers.length === 0) return;
    const still: typeof this.barriers = [];
    for (const b of this.barriers) (this.striper.barrierPassed(b.token) ? b.resolve : () => still.push(b))();
    this.barriers = still;
  }

  /** Send fences, control messages and the commit that have no live carrier. */
  private pumpRequests(): void {
    const carrier = (p: Pending): SenderChannel | undefined => {
      if (p.carrier !== undefined && this.channels[p.carrier]!.alive) return undefined;
      const c = this.channels.find((x) => x.alive);
      if (c) {
        p.carrier = c.id;
        c.outstanding++;
        if (c.outstanding === 1 && this.striper.inFlightBytes(c.id) === 0) c.lastProgress = performance.now();
      }
      return c;
    };
    for (const [id, p] of this.fences) carrier(p)?.sendSigned(FrameType.FENCE, id, encodeU16(id));
    for (const [seq, p] of this.controls) carrier(p)?.sendSigned(FrameType.CONTROL, seq, p.body);
    if (this.commitReq) carrier(this.commitReq)?.sendSigned(FrameType.COMMIT, 0, this.commitReq.body);
  }

  private checkStalls(): void {
    const now = performance.now();
    for (const c of this.channels) {
      if (!c.alive) continue;
      const busy = this.striper.inFlightBytes(c.id) > 0 || c.outstanding > 0;
      if (busy && now - c.lastProgress > this.o.channelTimeout * 1000) {
        this.failChannel(c, `no acknowledgement for ${this.o.channelTimeout} s`);
      }
    }
  }

  private failChannelQuiet(ch: SenderChannel, reason: string): void {
    ch.close(reason);
    this.failChannel(ch, reason);
  }

  private failChannel(ch: SenderChannel, reason: string): void {
    if (this.closed || this.failure || !this.striper.isAlive(ch.id)) return;
    ch.close(reason);
    for (const a of this.striper.inFlightOf(ch.id)) this.seqRegion.delete(a.seq);
    try {
      this.striper.failChannel(ch.id);
    } catch (e) {
      if (e instanceof AllChannelsLostError) {
        const why = this.channels.map((c) => `channel ${c.id}: ${c.failure ?? 'closed'}`).join('; ');
        this.fail(new AllChannelsLostError(e.failed, e.unacknowledgedBytes), why);
        return;
      }
      throw e;
    }
    this.emit('channel-failed', { channel: ch.id, reason });
    this.fences.set(ch.id, { carrier: undefined });
    this.pumpRequests();
    this.pump();
  }

  /** The receiver failed the whole session: every channel closes, everything waiting is rejected. */
  private failSession(message: string): void {
    if (this.closed || this.failure) return;
    for (const c of this.channels) if (c.alive) c.close(message);
    this.fail(new MigbenchError('E_TRANSPORT', message));
  }

  private fail(err: MigbenchError, why?: string): void {
    if (why !== undefined) err.message = `${err.message}: ${why}`;
    this.failure = err;
    clearInterval(this.watchdog);
    for (const w of this.spaceWaiters) w.reject(err);
    for (const b of this.barriers) b.reject(err);
    for (const c of this.controls.values()) c.reject(err);
    this.commitReq?.reject(err);
    this.spaceWaiters = [];
    this.barriers = [];
    this.controls.clear();
    this.commitReq = undefined;
    if (this.listenerCount('failed') > 0) this.emit('failed', err);
  }
}
