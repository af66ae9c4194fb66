// The receiver: listens on one or more addresses, authenticates and binds channels to sessions, writes
// their chunks to a sink, and checks the final commit. Hardened: a bad frame closes that channel only;
// connection limits applied at the TCP accept, before any TLS handshake (admission.ts: unauthenticated
// connections can never take the room of channels with the key), handshake and idle timeouts, an optional
// budget of bytes over all open sessions, and a byte window that pauses reading while an asynchronous sink
// catches up keep memory and file descriptors bounded under a flood.

import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { InputError } from '../../errors.js';
import { isLoopback, type Endpoint } from './address.js';
import { INSECURE_KEY, tlsPsk, type AuthRequest } from './auth.js';
import { Admission, DEFAULT_ADMISSION, type Slot } from './admission.js';
import { adopt } from './adopt.js';
import { DEFAULT_LIMITS, ProtocolError, type DecodeLimits } from './frame.js';
import { Conn, type ConnHost } from './receiver-conn.js';
import { ReceiverSession, RefusedError, type CommitReport } from './receiver-session.js';
import type { Sink } from './sinks.js';

export { ReceiverSession, RefusedError, type CommitReport } from './receiver-session.js';

export const TLS_CIPHERS = 'ECDHE-PSK-CHACHA20-POLY1305';

export interface ReceiverOptions {
  listen: Endpoint[];
  /** Pre-shared key; required unless `insecure`. */
  key?: Buffer;
  /** Run without a key (a fixed public one); refused unless every listen address is loopback. */
  insecure?: boolean;
  /** TLS 1.2 with a PSK derived from the key (ECDHE-PSK-CHACHA20-POLY1305). */
  tls?: boolean;
  /** Creates the sink of a new session; throw a RefusedError to refuse the session (the sender is told why). */
  sink: (info: { session: string; size: number }) => Sink | Promise<Sink>;
  /** Largest declared stream size accepted (default 2^50). */
  maxSize?: number;
  /**
   * Most bytes all open sessions together may declare (default: no limit). `serve` sets it for memory
   * sinks (--memory-budget): a session that would exceed it is refused before its sink is made.
   */
  sizeBudget?: number;
  /** Largest DATA payload (default 16 MiB) and control payload (default 1 MiB). */
  limits?: Partial<DecodeLimits>;
  /** Bytes one channel may have read but not yet written before reading pauses (default 32 MiB). */
  window?: number;
  /** The same over all channels (default 256 MiB). */
  totalWindow?: number;
  /** Connection limits (admission.ts): totals and per address, and the share of unauthenticated ones. */
  maxConnections?: number;
  maxPerAddress?: number;
  maxUnauthenticated?: number;
  maxUnauthenticatedPerAddress?: number;
  /** Channels per session, numbered 0 to maxChannelsPerSession - 1 (default 32). */
  maxChannelsPerSession?: number;
  /** Seconds from the TCP accept (before any TLS handshake) to authenticate (default 5), and to stay silent (default 60). */
  handshakeTimeout?: number;
  idleTimeout?: number;
  /** One read buffer shared by all plain TCP channels (default 1 MiB): reads are handled synchronously. */
  readBufferSize?: number;
  log?: (e: ReceiverLogEvent) => void;
}

export interface ReceiverLogEvent {
  event: 'listening' | 'channel-bound' | 'channel-closed' | 'session-start' | 'session-end' | 'refused';
  remote?: string;
  session?: string;
  channel?: number;
  code?: string;
  reason?: string;
}

export interface ChannelClosedEvent {
  remote: string;
  session: string | undefined;
  channel: number | undefined;
  code: string;
  reason: string;
  authenticated: boolean;
  bytes: number;
}

/** An accepted connection, from the TCP accept on (a TLS handshake may still be running: no Conn yet). */
interface ConnSlot extends Slot {
  remote: string;
  raw: net.Socket;
  tls: tls.TLSSocket | undefined;
  conn: Conn | undefined;
  timer: NodeJS.Timeout | undefined;
  gone: boolean;
}

export class Receiver extends EventEmitter implements ConnHost {
  readonly key: Buffer;
  readonly limits: DecodeLimits;
  readonly window: number;
  readonly totalWindow: number;
  readonly maxChannels: number;
  pendingTotal = 0;
  /** Bytes declared by the open sessions (against sizeBudget). */
  sizeInUse = 0;
  readonly sessions = new Map<string, ReceiverSession>();
  private readonly conns = new Set<Conn>();
  private readonly slots = new Map<Conn, ConnSlot>();
  private readonly handshaking = new Set<ConnSlot>();
  private readonly admission: Admission;
  private readonly servers: net.Server[] = [];
  private readonly readBuf: Buffer;
  private readonly tlsContext: tls.SecureContext | undefined;
  private readonly o: Required<Omit<ReceiverOptions, 'key' | 'log' | 'limits' | 'sizeBudget'>> & Pick<ReceiverOptions, 'log' | 'sizeBudget'>;

  constructor(opts: ReceiverOptions) {
    super();
    if (!opts.key && !opts.insecure) {
      throw new InputError({ source: '--key-file', expected: 'a pre-shared key (--key-file FILE or MIGBENCH_KEY), or --insecure on loopback addresses only' });
    }
    if (!opts.key && opts.insecure) {
      const far = opts.listen.find((e) => !isLoopback(e.host));
      if (far) throw new InputError({ source: '--insecure', expected: 'loopback listen addresses only (127.0.0.0/8, ::1)', got: far.host });
    }
    if (opts.listen.length === 0) throw new InputError({ source: '--listen', expected: 'at least one ADDR:PORT' });
    this.key = opts.key ?? INSECURE_KEY;
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.window = opts.window ?? 32 * 2 ** 20;
    this.totalWindow = opts.totalWindow ?? 256 * 2 ** 20;
    this.readBuf = Buffer.allocUnsafe(opts.readBufferSize ?? 2 ** 20);
    this.maxChannels = opts.maxChannelsPerSession ?? 32;
    this.o = {
      listen: opts.listen,
      insecure: opts.insecure ?? false,
      tls: opts.tls ?? false,
      sink: opts.sink,
      maxSize: opts.maxSize ?? 2 ** 50,
      sizeBudget: opts.sizeBudget,
      window: this.window,
      totalWindow: this.totalWindow,
      maxConnections: opts.maxConnections ?? DEFAULT_ADMISSION.maxConnections,
      maxPerAddress: opts.maxPerAddress ?? DEFAULT_ADMISSION.maxPerAddress,
      maxUnauthenticated: opts.maxUnauthenticated ?? Math.min(DEFAULT_ADMISSION.maxUnauthenticated, Math.ceil((opts.maxConnections ?? DEFAULT_ADMISSION.maxConnections) / 2)),
      maxUnauthenticatedPerAddress: opts.maxUnauthenticatedPerAddress ?? DEFAULT_ADMISSION.maxUnauthenticatedPerAddress,
      maxChannelsPerSession: this.maxChannels,
      handshakeTimeout: opts.handshakeTimeout ?? 5,
      idleTimeout: opts.idleTimeout ?? 60,
      readBufferSize: this.readBuf.length,
      log: opts.log,
    };
    this.admission = new Admission({
      maxConnections: this.o.maxConnections,
      maxPerAddress: this.o.maxPerAddress,
      maxUnauthenticated: this.o.maxUnauthenticated,
      maxUnauthenticatedPerAddress: this.o.maxUnauthenticatedPerAddress,
    });
    this.tlsContext = this.o.tls ? tls.createSecureContext({ ciphers: TLS_CIPHERS, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' }) : undefined;
  }

  /** Start listening; resolves with the bound endpoints (port 0 becomes the real port). */
  async listen(): Promise<Endpoint[]> {
    const out: Endpoint[] = [];
    for (const ep of this.o.listen) {
      // TLS too is accepted as plain TCP first, so the connection limits and the handshake timeout hold
      // from the accept on (a TLS server would only hand over connections whose handshake finished).
      const server = net.createServer({ pauseOnConnect: !this.o.tls });
      server.on('connection', (s: net.Socket) => this.accept(s));
      await new Promise<void>((resolve, reject) => {
        // A port in use or an address this host does not have is a bad --listen value (exit 2).
        server.once('error', (e: NodeJS.ErrnoException) =>
          reject(new InputError({ source: '--listen', expected: 'an address of this host and a free port', got: `${ep.host}:${ep.port}`, detail: e.code ?? e.message })),
        );
        server.listen(ep.port, ep.host, () => resolve());
      });
      this.servers.push(server);
      const a = server.address() as net.AddressInfo;
      out.push({ host: a.address, port: a.port });
      this.log({ event: 'listening', remote: `${a.address}:${a.port}` });
    }
    return out;
  }

  /** Stop listening and drop every connection. */
  async close(): Promise<void> {
    for (const slot of [...this.handshaking]) this.drop(slot, 'receiver shutting down', 'shutdown');
    for (const c of [...this.conns]) c.close('receiver shutting down', 'shutdown');
    await Promise.all(this.servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    this.servers.length = 0;
  }

  /** Connections held (authenticated or not, TLS handshakes included). */
  get connectionCount(): number {
    return this.admission.size;
  }

  get unauthenticatedCount(): number {
    return this.admission.unauthenticated;
  }

  private accept(raw: net.Socket): void {
    const addr = raw.remoteAddress ?? '?';
    const remote = `${addr}:${raw.remotePort}`;
    raw.on('error', () => undefined); // until a Conn owns the socket; its errors then close the Conn
    const admit = this.admission.admit(addr);
    if (!admit.ok) {
      this.log({ event: 'refused', remote, code: 'cap', reason: `connection cap reached (${admit.reason})` });
      this.emit('refused', { remote, reason: admit.reason });
      raw.destroy();
      return;
    }
    const slot: ConnSlot = {
      addr,
      remote,
      raw,
      tls: undefined,
      conn: undefined,
      timer: undefined,
      gone: false,
      authenticated: false,
      evict: (why) => this.drop(slot, `evicted: ${why}`, 'evicted'),
    };
    this.admission.add(slot);
    slot.timer = setTimeout(() => this.drop(slot, `no authentication within ${this.o.handshakeTimeout} s of the connection`, 'handshake-timeout'), this.o.handshakeTimeout * 1000);
    slot.timer.unref();
    if (!this.o.tls) {
      this.attach(
        slot,
        adopt(raw, this.readBuf, () => slot.conn!, (c) => this.pause(c)),
      );
      return;
    }
    this.handshaking.add(slot);
    // pskCallback is honoured by a server-side TLSSocket (as by tls.createServer) but missing from its type.
    const opts = { isServer: true, secureContext: this.tlsContext!, pskCallback: () => tlsPsk(this.key) } as tls.TLSSocketOptions;
    const t = (slot.tls = new tls.TLSSocket(raw, opts));
    t.once('secure', () => {
      if (slot.gone) return;
      this.handshaking.delete(slot);
      this.attach(slot, t);
    });
    t.on('error', (e: Error) => {
      if (slot.conn) return; // the Conn's own handler reports it
      this.log({ event: 'refused', remote, code: 'tls', reason: e.message });
      this.drop(slot, `TLS handshake failed: ${e.message}`, 'tls');
    });
    t.on('close', () => {
      if (!slot.conn) this.drop(slot, 'peer closed the connection during the TLS handshake', 'peer-closed');
    });
  }

  /** Drop a connection: through its Conn when it has one, else (TLS handshake) directly. Idempotent. */
  private drop(slot: ConnSlot, reason: string, code: string): void {
    if (slot.conn) return slot.conn.close(reason, code);
    if (slot.gone) return;
    slot.gone = true;
    clearTimeout(slot.timer);
    this.handshaking.delete(slot);
    this.admission.release(slot);
    slot.tls?.destroy();
    slot.raw.destroy();
    const ev: ChannelClosedEvent = { remote: slot.remote, session: undefined, channel: undefined, code, reason, authenticated: false, bytes: 0 };
    this.log({ event: 'channel-closed', remote: slot.remote, code, reason });
    this.emit('channel-closed', ev);
  }

  /** The connection is ready for the protocol (plain TCP at once, TLS once its handshake finished). */
  private attach(slot: ConnSlot, socket: net.Socket): void {
    socket.setNoDelay(true);
    socket.setTimeout(this.o.idleTimeout * 1000, () => conn.close(`idle for ${this.o.idleTimeout} s`, 'idle'));
    socket.on('error', (e) => conn.close(`socket error: ${e.message}`, 'error'));
    socket.on('close', () => conn.close('peer closed the connection', 'peer-closed'));
    socket.on('end', () => conn.close('peer closed the connection', 'peer-closed'));
    socket.on('drain', () => conn.maybeResume());
    const conn: Conn = new Conn(socket, slot.remote, this);
    slot.conn = conn;
    this.slots.set(conn, slot);
    this.conns.add(conn);
    if (this.o.tls) {
      socket.on('data', (buf: Buffer) => {
        if (!conn.onBytes(buf)) this.pause(conn);
      });
    }
  }

  private pause(c: Conn): void {
    c.paused = true;
    c.socket.pause();
  }

  resumeAll(): void {
    for (const c of this.conns) c.maybeResume();
  }

  async openSession(req: AuthRequest): Promise<ReceiverSession> {
    if (req.mode === 'bind') {
      const s = this.sessions.get(req.session);
      if (!s || s.ended) throw new ProtocolError('unknown-session', `no open session ${req.session}`);
      if (s.committed) throw new ProtocolError('unexpected', `session ${req.session} is already committed`);
      if (s.channels.size >= this.o.maxChannelsPerSession) throw new ProtocolError('bad-field', `session ${s.id} already has ${s.channels.size} channels`);
      return s;
    }
    if (req.declaredSize > this.o.maxSize) throw new RefusedError(`a stream of ${req.declaredSize} bytes is larger than this receiver accepts (${this.o.maxSize} bytes)`);
    const budget = this.o.sizeBudget;
    if (budget !== undefined && this.sizeInUse + req.declaredSize > budget) {
      const open = [...this.sessions.values()].filter((x) => !x.ended).length;
      throw new RefusedError(
        `the receiver's memory budget is ${budget} bytes and ${this.sizeInUse} are held by ${open} open session(s); a stream of ${req.declaredSize} bytes does not fit (serve --memory-budget)`,
      );
    }
    // Counted before the sink is made (which may take a while), so concurrent sessions cannot both fit.
    this.sizeInUse += req.declaredSize;
    const id = randomBytes(8).toString('hex');
    let sink: Sink;
    try {
      sink = await this.o.sink({ session: id, size: req.declaredSize });
    } catch (e) {
      this.sizeInUse -= req.declaredSize;
      throw e;
    }
    const s = new ReceiverSession(id, req.declaredSize, sink);
    this.sessions.set(id, s);
    s.on('commit', (r: CommitReport) => this.emit('commit', r));
    this.log({ event: 'session-start', session: id, reason: `${req.declaredSize} bytes into a ${sink.kind} sink` });
    this.emit('session', s);
    return s;
  }

  /** The channel proved the key: the handshake timer stops and it leaves the unauthenticated limits. */
  authenticated(conn: Conn): void {
    const slot = this.slots.get(conn);
    if (!slot) return;
    clearTimeout(slot.timer);
    this.admission.authenticated(slot);
  }

  bound(conn: Conn): void {
    this.log({ event: 'channel-bound', remote: conn.remote, session: conn.session?.id, channel: conn.channel });
  }

  unjoined(s: ReceiverSession): void {
    if (s.channelsEverBound === 0 && s.channels.size === 0 && this.sessions.get(s.id) === s) this.endSession(s);
  }

  findSession(id: string): ReceiverSession | undefined {
    return this.sessions.get(id);
  }

  closed(conn: Conn, reason: string, code: string): void {
    if (!this.conns.delete(conn)) return;
    const slot = this.slots.get(conn);
    this.slots.delete(conn);
    if (slot) {
      slot.gone = true;
      clearTimeout(slot.timer);
      this.admission.release(slot);
    }
    const s = conn.session;
    const ev: ChannelClosedEvent = {
      remote: conn.remote,
      session: s?.id,
      channel: s ? conn.channel : undefined,
      code,
      reason,
      authenticated: s !== undefined,
      bytes: conn.bytes,
    };
    this.log({ event: 'channel-closed', remote: conn.remote, session: s?.id, channel: ev.channel, code, reason });
    this.emit('channel-closed', ev);
    if (s && s.channels.get(conn.channel) === conn) {
      s.channels.delete(conn.channel);
      s.pumpControls();
      if (s.channels.size === 0) this.endSession(s);
    }
  }

  /** The session's last channel is gone: finish it (an uncommitted sink is thrown away), free its bytes. */
  private endSession(s: ReceiverSession): void {
    this.sessions.delete(s.id);
    void s.end().then(() => {
      this.sizeInUse -= s.size;
      this.log({ event: 'session-end', session: s.id, reason: s.result ? `committed: ${s.result.status}` : 'all channels closed before a commit' });
      this.emit('session-end', s);
    });
  }

  private log(e: ReceiverLogEvent): void {
    this.o.log?.(e);
  }
}
