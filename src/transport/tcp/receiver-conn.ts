// One accepted connection on the receiver: challenge, authentication and binding, then data frames to
// the session's sink with acknowledgements, backpressure, control messages, fences and the commit.
// Anything malformed or out of place closes this connection only, with a logged reason.

import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { FrameReader } from './frame-reader.js';
import { encodeFrame, FrameType, NO_SESSION, ProtocolError, type DecodeLimits, type FrameHeader } from './frame.js';
import { channelKey, encodeAuthOk, openSigned, parseAuthRequest, serverProof, signBody, verifyAuthRequest, type AuthRequest } from './auth.js';
import { ACK_CONTROL, ACK_DATA, decodeCommit, decodeSeqs, decodeU16, encodeCommitResult, encodeSeqs, encodeU16, ERROR_REFUSED, ERROR_SESSION_FAILED } from './messages.js';
import { RefusedError, type ReceiverSession, type SessionChannel } from './receiver-session.js';

/** What a connection needs from its receiver. */
export interface ConnHost {
  readonly key: Buffer;
  readonly limits: DecodeLimits;
  readonly window: number;
  /** Bytes read from all channels but not yet written by an asynchronous sink. */
  pendingTotal: number;
  readonly totalWindow: number;
  /** Channel indexes run from 0 to maxChannels - 1. */
  readonly maxChannels: number;
  /** Create a session (auth mode "new") or find one to bind to; throws a ProtocolError to refuse. */
  openSession(req: AuthRequest): Promise<ReceiverSession>;
  findSession(id: string): ReceiverSession | undefined;
  closed(conn: Conn, reason: string, code: string): void;
  /** The channel proved the key (its handshake timer stops; it leaves the unauthenticated limits). */
  authenticated(conn: Conn): void;
  /** The channel authenticated and joined its session. */
  bound(conn: Conn): void;
  /** The channel that asked for session `s` closed before joining it: end `s` if no channel ever did. */
  unjoined(s: ReceiverSession): void;
  resumeAll(): void;
}

const PREAUTH_LIMITS: DecodeLimits = { maxData: 0, maxControl: 256, preAuth: true };
const ACK_BUFFER_LIMIT = 4 * 2 ** 20;

export class Conn implements SessionChannel {
  readonly reader: FrameReader;
  readonly nonce = randomBytes(32);
  state: 'challenge' | 'binding' | 'bound' | 'closed' = 'challenge';
  session: ReceiverSession | undefined;
  channel = -1;
  private chKey: Buffer | undefined;
  private body: Buffer | undefined;
  private acks: number[] = [];
  private pending = 0;
  private readonly writes = new Set<Promise<void>>();
  private ackTimer: NodeJS.Immediate | undefined;
  paused = false;
  bytes = 0;

  constructor(
    readonly socket: Socket,
    readonly remote: string,
    private readonly host: ConnHost,
  ) {
    // The handshake timeout runs in the receiver, from the TCP accept (before any TLS handshake).
    this.reader = new FrameReader(this, { ...PREAUTH_LIMITS });
    socket.write(encodeFrame({ type: FrameType.CHALLENGE, flags: 0, session: NO_SESSION, channel: 0, seq: 0, offset: 0 }, this.nonce));
  }

  get alive(): boolean {
    return this.state !== 'closed';
  }

  /** Bytes from the socket; returns false to pause reading. */
  onBytes(buf: Buffer): boolean {
    if (this.state === 'closed') return false;
    try {
      this.reader.push(buf);
    } catch (e) {
      if (e instanceof ProtocolError) {
        if (this.state === 'bound') this.send(FrameType.ERROR, 0, 0, Buffer.from(e.message));
        this.close(e.message, e.reason);
      } else this.close(`internal error: ${(e as Error).message}`, 'error');
      return false;
    }
    this.flushAcks();
    return !this.mustPause();
  }

  mustPause(): boolean {
    return (
      this.state === 'binding' ||
      this.pending > this.host.window ||
      this.host.pendingTotal > this.host.totalWindow ||
      this.socket.writableLength > ACK_BUFFER_LIMIT
    );
  }

  /** Resume reading if nothing holds it back. */
  maybeResume(): void {
    if (this.paused && this.state !== 'closed' && !this.mustPause()) {
      this.paused = false;
      this.socket.resume();
    }
  }

  // FrameHandler -------------------------------------------------------------------------------------

  dataStart(h: FrameHeader): void {
    const s = this.session;
    if (this.state !== 'bound' || !s) throw new ProtocolError('unauthenticated', 'DATA before authentication');
    if (h.session !== s.id) throw new ProtocolError('unknown-session', `DATA for session ${h.session} on a channel bound to ${s.id}`);
    if (h.channel !== this.channel) throw new ProtocolError('bad-field', `DATA names channel ${h.channel} on channel ${this.channel}`);
    if (s.committed) throw new ProtocolError('unexpected', 'DATA after COMMIT');
    if (h.offset + h.length > s.size) throw new ProtocolError('out-of-range', `DATA [${h.offset}, ${h.offset + h.length}) past the declared size ${s.size}`);
    if (!s.sink.sync) this.body = Buffer.allocUnsafe(h.length);
  }

  dataPiece(h: FrameHeader, piece: Buffer, at: number): void {
    if (this.body) piece.copy(this.body, at);
    else this.session!.sink.writePiece(h.offset + at, piece);
  }

  dataEnd(h: FrameHeader): void {
    const s = this.session!;
    this.bytes += h.length;
    if (!this.body) {
      s.sink.chunkWritten?.(h.offset, h.length);
      s.recordWrite(h.offset, h.length);
      this.acks.push(h.seq);
      return;
    }
    const body = this.body;
    this.body = undefined;
    this.pending += h.length;
    this.host.pendingTotal += h.length;
    const p = s.sink.writeOwned(h.offset, body).then(
      () => {
        this.writes.delete(p);
        this.pending -= h.length;
        this.host.pendingTotal -= h.length;
        s.recordWrite(h.offset, h.length);
        if (this.state !== 'closed') {
          this.acks.push(h.seq);
          this.scheduleAcks();
        }
        this.host.resumeAll();
      },
      (e: Error) => {
        this.writes.delete(p);
        this.pending -= h.length;
        this.host.pendingTotal -= h.length;
        // A failed write (ENOSPC, EIO) dooms the session, not just this channel: tell the sender why.
        s.fail(`the receiver could not write the stream: ${e.message}`);
        this.close(`sink write failed: ${e.message}`, 'io');
      },
    );
    this.writes.add(p);
  }

  frame(h: FrameHeader, payload: Buffer): void {
    if (this.state === 'challenge') {
      if (h.type === FrameType.DATA) throw new ProtocolError('unauthenticated', 'DATA before authentication');
      if (h.type !== FrameType.AUTH) throw new ProtocolError('unauthenticated', `frame type ${h.type} before authentication`);
      this.authenticate(parseAuthRequest(payload));
      return;
    }
    if (this.state !== 'bound') throw new ProtocolError('unexpected', `frame type ${h.type} while binding`);
    const s = this.session!;
    if (h.session !== s.id) throw new ProtocolError('unknown-session', `frame for session ${h.session} on a channel bound to ${s.id}`);
    switch (h.type) {
      case FrameType.ACK:
        if (h.flags !== ACK_CONTROL) throw new ProtocolError('bad-field', 'the receiver only takes control ACKs');
        for (const seq of decodeSeqs(payload)) s.controlAcked(seq);
        return;
      case FrameType.CONTROL: {
        const body = openSigned(this.chKey!, h, payload);
        s.deliverControl(h.seq, body);
        this.send(FrameType.ACK, ACK_CONTROL, 0, encodeSeqs([h.seq]));
        return;
      }
      case FrameType.COMMIT: {
        const c = decodeCommit(openSigned(this.chKey!, h, payload));
        void s.commit(c).then(
          (r) => this.sendSigned(FrameType.COMMIT_RESULT, h.seq, encodeCommitResult(r)),
          (e: Error) => {
            this.send(FrameType.ERROR, ERROR_SESSION_FAILED, 0, Buffer.from(`commit failed: ${e.message}`));
            this.close(`commit failed: ${e.message}`, 'io');
          },
        );
        return;
      }
      case FrameType.FENCE: {
        const fenced = decodeU16(openSigned(this.chKey!, h, payload), 'FENCE');
        const target = s.channels.get(fenced);
        if (target && target !== this) target.close(`fenced by the sender (via channel ${this.channel})`, 'fenced');
        const drained = target && target !== this ? target.drainWrites() : Promise.resolve();
        void drained.then(() => this.sendSigned(FrameType.FENCE_ACK, h.seq, encodeU16(fenced)));
        return;
      }
      default:
        throw new ProtocolError('unexpected', `frame type ${h.type} from a sender`);
    }
  }

  // -------------------------------------------------------------------------------------------------

  private authenticate(req: AuthRequest): void {
    if (!verifyAuthRequest(this.host.key, this.nonce, req)) {
      this.send(FrameType.ERROR, 0, 0, Buffer.from('authentication failed'), true);
      throw new ProtocolError('unauthenticated', 'authentication failed: bad proof of the pre-shared key');
    }
    if (req.channel >= this.host.maxChannels) {
      const why = `channel index ${req.channel} is outside 0-${this.host.maxChannels - 1}`;
      this.send(FrameType.ERROR, 0, 0, Buffer.from(why), true);
      throw new ProtocolError('bad-field', why);
    }
    if (req.mode === 'new' && req.declaredSize === 0) {
      const why = 'a declared stream size of 0 bytes (a session carries at least one byte)';
      this.send(FrameType.ERROR, 0, 0, Buffer.from(why), true);
      throw new ProtocolError('bad-field', why);
    }
    this.state = 'binding';
    // Authenticated: creating the session's sink may take a while (a large memory sink is prefaulted).
    this.host.authenticated(this);
    this.host
      .openSession(req)
      .then((s) => {
        // Gone while its session was being made: a new session nobody joined must not hold its sink.
        if (this.state === 'closed') return this.host.unjoined(s);
        if (s.channels.has(req.channel)) throw new ProtocolError('bad-field', `channel ${req.channel} is already bound to session ${s.id}`);
        this.session = s;
        this.channel = req.channel;
        this.chKey = channelKey(this.host.key, this.nonce, req.clientNonce, s.id, req.channel);
        s.channels.set(req.channel, this);
        s.channelsEverBound++;
        this.reader.limits.maxData = this.host.limits.maxData;
        this.reader.limits.maxControl = this.host.limits.maxControl;
        this.reader.limits.preAuth = false;
        this.state = 'bound';
        const proof = serverProof(this.host.key, this.nonce, req.clientNonce, s.id, req.channel);
        this.send(FrameType.AUTH_OK, 0, 0, encodeAuthOk({ session: s.id, channel: req.channel, maxData: this.host.limits.maxData, window: this.host.window, proof }));
        this.host.bound(this);
        s.pumpControls();
        this.maybeResume();
      })
      .catch((e: Error) => {
        const refused = e instanceof RefusedError;
        const reason = e instanceof ProtocolError ? e.reason : refused ? 'refused' : 'error';
        this.send(FrameType.ERROR, refused ? ERROR_REFUSED : 0, 0, Buffer.from(e.message), true);
        this.close(`binding refused: ${e.message}`, reason);
      });
  }

  private send(type: FrameHeader['type'], flags: number, seq: number, body: Buffer, force = false): void {
    if (this.state === 'closed' && !force) return;
    const session = this.session?.id ?? NO_SESSION;
    this.socket.write(encodeFrame({ type, flags, session, channel: Math.max(0, this.channel), seq, offset: 0 }, body));
  }

  private sendSigned(type: FrameHeader['type'], seq: number, body: Buffer): void {
    if (this.state === 'closed') return;
    const session = this.session!.id;
    const meta = { type, session, channel: this.channel, seq, offset: 0 };
    this.socket.write(encodeFrame({ ...meta, flags: 0 }, signBody(this.chKey!, meta, body)));
  }

  sendControl(seq: number, body: Buffer): boolean {
    if (this.state !== 'bound') return false;
    this.sendSigned(FrameType.CONTROL, seq, body);
    return true;
  }

  private scheduleAcks(): void {
    this.ackTimer ??= setImmediate(() => {
      this.ackTimer = undefined;
      this.flushAcks();
    });
  }

  private flushAcks(): void {
    if (this.acks.length === 0 || this.state === 'closed') return;
    const seqs = this.acks;
    this.acks = [];
    this.send(FrameType.ACK, ACK_DATA, 0, encodeSeqs(seqs));
  }

  drainWrites(): Promise<void> {
    return Promise.all([...this.writes]).then(() => undefined);
  }

  /** The session failed at the receiver: say so (the sender fails the session at once), then close. */
  failSession(reason: string): void {
    this.send(FrameType.ERROR, ERROR_SESSION_FAILED, 0, Buffer.from(reason));
    this.close(`session failed: ${reason}`, 'io');
  }

  close(reason: string, code: string): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    if (this.ackTimer) clearImmediate(this.ackTimer);
    // Let a queued ERROR frame go out, then drop the connection.
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 200).unref();
    this.host.closed(this, reason, code);
  }
}
