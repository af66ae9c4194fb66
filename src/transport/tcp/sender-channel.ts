// One sending channel: a TCP (or TLS) connection that leaves by its own local address, answers the
// receiver's challenge, binds to the session, and then carries DATA frames out and ACKs back.

import net from 'node:net';
import tls from 'node:tls';
import { crc32c } from './crc.js';
import { MigbenchError } from '../../errors.js';
import { formatEndpoint, type Endpoint } from './address.js';
import { AuthError, channelKey, makeAuthRequest, parseAuthOk, serverProof, signBody, tlsPsk, type AuthMode, type AuthOk } from './auth.js';
import { FrameReader } from './frame-reader.js';
import { encodeFrame, FrameType, HEADER_SIZE, NO_SESSION, ProtocolError, writeHeader, type FrameHeader } from './frame.js';
import { ERROR_REFUSED } from './messages.js';
import { TokenBucket } from './token-bucket.js';

export interface ChannelTarget extends Endpoint {
  /** Local address to bind, so the channel leaves by that NIC. */
  localAddress?: string;
}

export interface ChannelConfig {
  key: Buffer;
  tls: boolean;
  connectTimeout: number;
  /** Per-channel rate limit in bytes per second. */
  rate?: number;
}

export type FrameSink = (ch: SenderChannel, h: FrameHeader, payload: Buffer) => void;

export class SenderChannel {
  socket: net.Socket | undefined;
  session = NO_SESSION;
  key: Buffer | undefined;
  alive = false;
  /** Set when the channel failed or was closed; never reused. */
  ended = false;
  failure: string | undefined;
  lastProgress = 0;
  /** Requests (fence, commit, control) awaiting an answer on this channel. */
  outstanding = 0;
  bytesSent = 0;
  bytesAcked = 0;
  firstSend: number | undefined;
  lastAck: number | undefined;
  pausedDrain = false;
  pausedBucket = false;
  readonly bucket: TokenBucket | undefined;
  private onFrame: FrameSink = () => undefined;
  private onGone: (ch: SenderChannel, reason: string) => void = () => undefined;

  constructor(
    readonly id: number,
    readonly target: ChannelTarget,
    private readonly cfg: ChannelConfig,
  ) {
    this.bucket = cfg.rate !== undefined ? new TokenBucket(cfg.rate) : undefined;
  }

  get label(): string {
    return `channel ${this.id} to ${formatEndpoint(this.target)}${this.target.localAddress ? ` from ${this.target.localAddress}` : ''}`;
  }

  /** Connect, authenticate and bind. Rejects with AuthError (refused) or E_TRANSPORT (unreachable). */
  connect(mode: AuthMode, session: string, declaredSize: number): Promise<AuthOk> {
    return new Promise<AuthOk>((resolve, reject) => {
      let settled = false;
      const fail = (e: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.ended = true;
        sock.destroy();
        reject(e);
      };
      const timer = setTimeout(
        () => fail(new MigbenchError('E_TRANSPORT', `${this.label}: no answer within ${this.cfg.connectTimeout} s`)),
        this.cfg.connectTimeout * 1000,
      );
      const base = { host: this.target.host, port: this.target.port, ...(this.target.localAddress ? { localAddress: this.target.localAddress } : {}) };
      const sock: net.Socket = this.cfg.tls
        ? tls.connect({
            ...base,
            ciphers: 'ECDHE-PSK-CHACHA20-POLY1305',
            minVersion: 'TLSv1.2',
            maxVersion: 'TLSv1.2',
            pskCallback: () => ({ psk: tlsPsk(this.cfg.key), identity: 'migbench' }),
            checkServerIdentity: () => undefined,
          })
        : net.connect(base);
      this.socket = sock;
      sock.setNoDelay(true);
      let nonce: Buffer | undefined;
      let clientNonce: Buffer | undefined;
      const reader = new FrameReader({
        dataStart: () => {
          throw new ProtocolError('unexpected', 'the receiver sent DATA');
        },
        dataPiece: () => undefined,
        dataEnd: () => undefined,
        frame: (h, payload) => {
          if (settled) {
            this.lastProgress = performance.now();
            this.onFrame(this, h, payload);
            return;
          }
          if (h.type === FrameType.ERROR) {
            // Refused for resources or policy (ERROR_REFUSED), or because of the key (anything else).
            const why = `${this.label}: refused: ${payload.toString('utf8')}`;
            return fail(h.flags & ERROR_REFUSED ? new MigbenchError('E_TRANSPORT', why) : new AuthError(why));
          }
          if (h.type === FrameType.CHALLENGE && !nonce) {
            if (payload.length !== 32) throw new ProtocolError('bad-field', 'CHALLENGE nonce must be 32 bytes');
            nonce = payload;
            const req = makeAuthRequest(this.cfg.key, nonce, { mode, channel: this.id, declaredSize, session });
            clientNonce = req.clientNonce;
            sock.write(encodeFrame({ type: FrameType.AUTH, flags: 0, session, channel: this.id, seq: 0, offset: 0 }, req.payload));
            return;
          }
          if (h.type === FrameType.AUTH_OK && nonce && clientNonce) {
            const ok = parseAuthOk(payload);
            if (!ok.proof.equals(serverProof(this.cfg.key, nonce, clientNonce, ok.session, ok.channel)) || ok.channel !== this.id) {
              return fail(new AuthError(`${this.label}: the receiver could not prove the pre-shared key`));
            }
            this.session = ok.session;
            this.key = channelKey(this.cfg.key, nonce, clientNonce, ok.session, ok.channel);
            this.alive = true;
            this.lastProgress = performance.now();
            settled = true;
            clearTimeout(timer);
            resolve(ok);
            return;
          }
          throw new ProtocolError('unexpected', `frame type ${h.type} during the handshake`);
        },
      });
      sock.on('data', (buf: Buffer) => {
        try {
          reader.push(buf);
        } catch (e) {
          if (!settled) fail(new MigbenchError('E_PROTOCOL', `${this.label}: ${(e as Error).message}`));
          else this.gone(`protocol error from the receiver: ${(e as Error).message}`);
        }
      });
      sock.on('error', (e: NodeJS.ErrnoException) => {
        if (!settled) fail(new MigbenchError('E_TRANSPORT', `${this.label}: ${e.code ?? e.message}`, { cause: e }));
        else this.gone(`socket error: ${e.code ?? e.message}`);
      });
      sock.on('close', () => {
        if (!settled) fail(new MigbenchError('E_TRANSPORT', `${this.label}: connection closed during the handshake`));
        else this.gone('connection closed by the receiver');
      });
      sock.on('drain', () => this.onDrain?.());
    });
  }

  onDrain: (() => void) | undefined;

  /** Where frames after the handshake go, and who hears that the channel is gone. */
  attach(onFrame: FrameSink, onGone: (ch: SenderChannel, reason: string) => void): void {
    this.onFrame = onFrame;
    this.onGone = onGone;
  }

  private gone(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.alive = false;
    this.failure = reason;
    this.onGone(this, reason);
  }

  /** Write one DATA frame (header and payload in one writev); false when the socket is backpressured. */
  sendData(seq: number, offset: number, payload: Buffer, crc?: number): boolean {
    const sock = this.socket!;
    const hdr = Buffer.allocUnsafe(HEADER_SIZE);
    writeHeader(hdr, 0, { type: FrameType.DATA, flags: 0, session: this.session, channel: this.id, seq, offset, length: payload.length, crc: crc ?? crc32c(payload) });
    const now = performance.now();
    this.firstSend ??= now;
    this.bytesSent += payload.length;
    sock.cork();
    sock.write(hdr);
    const ok = sock.write(payload);
    sock.uncork();
    this.bucket?.take(payload.length + HEADER_SIZE, now / 1000);
    return ok;
  }

  send(type: FrameHeader['type'], flags: number, seq: number, body: Buffer): void {
    if (!this.alive) return;
    this.socket!.write(encodeFrame({ type, flags, session: this.session, channel: this.id, seq, offset: 0 }, body));
  }

  sendSigned(type: FrameHeader['type'], seq: number, body: Buffer): void {
    if (!this.alive) return;
    const meta = { type, session: this.session, channel: this.id, seq, offset: 0 };
    this.socket!.write(encodeFrame({ ...meta, flags: 0 }, signBody(this.key!, meta, body)));
  }

  /** Close on purpose (the session is done) or because it failed (`reason`). */
  close(reason?: string): void {
    if (reason !== undefined && !this.ended) this.failure = reason;
    this.ended = true;
    this.alive = false;
    if (reason === undefined) this.socket?.end();
    else this.socket?.destroy();
  }
}
