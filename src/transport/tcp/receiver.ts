// The receiver: listens on one or more addresses, authenticates and binds channels to sessions, writes
// their chunks to a sink, and checks the final commit. Hardened: a bad frame closes that channel only;
// connection caps (total and per address), handshake and idle timeouts, and a byte window that pauses
// reading while an asynchronous sink catches up keep memory bounded under a flood.

import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { InputError, MigbenchError } from '../../errors.js';
import { isLoopback, type Endpoint } from './address.js';
import { INSECURE_KEY, tlsPsk, type AuthRequest } from './auth.js';
import { DEFAULT_LIMITS, ProtocolError, type DecodeLimits } from './frame.js';
import { Conn, type ConnHost } from './receiver-conn.js';
import { ReceiverSession, type CommitReport } from './receiver-session.js';
import type { Sink } from './sinks.js';

export { ReceiverSession, type CommitReport } from './receiver-session.js';

export const TLS_CIPHERS = 'ECDHE-PSK-CHACHA20-POLY1305';

export interface ReceiverOptions {
  listen: Endpoint[];
  /** Pre-shared key; required unless `insecure`. */
  key?: Buffer;
  /** Run without a key (a fixed public one); refused unless every listen address is loopback. */
  insecure?: boolean;
  /** TLS 1.2 with a PSK derived from the key (ECDHE-PSK-CHACHA20-POLY1305). */
  tls?: boolean;
  /** Creates the sink of a new session. */
  sink: (info: { session: string; size: number }) => Sink | Promise<Sink>;
  /** Largest declared stream size accepted (default 2^50). */
  maxSize?: number;
  /** Largest DATA payload (default 16 MiB) and control payload (default 1 MiB). */
  limits?: Partial<DecodeLimits>;
  /** Bytes one channel may have read but not yet written before reading pauses (default 32 MiB). */
  window?: number;
  /** The same over all channels (default 256 MiB). */
  totalWindow?: number;
  maxConnections?: number;
  maxPerAddress?: number;
  maxChannelsPerSession?: number;
  /** Seconds to authenticate (default 5) and to stay silent (default 60). */
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

export class Receiver extends EventEmitter implements ConnHost {
  readonly key: Buffer;
  readonly limits: DecodeLimits;
  readonly window: number;
  readonly totalWindow: number;
  pendingTotal = 0;
  readonly sessions = new Map<string, ReceiverSession>();
  private readonly conns = new Set<Conn>();
  private readonly perAddress = new Map<string, number>();
  private readonly servers: net.Server[] = [];
  private readonly readBuf: Buffer;
  private readonly o: Required<Omit<ReceiverOptions, 'key' | 'log' | 'limits'>> & Pick<ReceiverOptions, 'log'>;

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
    this.o = {
      listen: opts.listen,
      insecure: opts.insecure ?? false,
      tls: opts.tls ?? false,
      sink: opts.sink,
      maxSize: opts.maxSize ?? 2 ** 50,
      window: this.window,
      totalWindow: this.totalWindow,
      maxConnections: opts.maxConnections ?? 256,
      maxPerAddress: opts.maxPerAddress ?? 64,
      maxChannelsPerSession: opts.maxChannelsPerSession ?? 32,
      handshakeTimeout: opts.handshakeTimeout ?? 5,
      idleTimeout: opts.idleTimeout ?? 60,
      readBufferSize: this.readBuf.length,
      log: opts.log,
    };
  }

  /** Start listening; resolves with the bound endpoints (port 0 becomes the real port). */
  async listen(): Promise<Endpoint[]> {
    const out: Endpoint[] = [];
    for (const ep of this.o.listen) {
      const server = this.o.tls
        ? tls.createServer({
            pskCallback: () => tlsPsk(this.key),
            ciphers: TLS_CIPHERS,
            minVersion: 'TLSv1.2',
            maxVersion: 'TLSv1.2',
            handshakeTimeout: this.o.handshakeTimeout * 1000,
          })
        : net.createServer({ pauseOnConnect: true });
      server.on(this.o.tls ? 'secureConnection' : 'connection', (s: net.Socket) => this.accept(s));
      if (this.o.tls) server.on('tlsClientError', (e: Error, s: net.Socket) => this.log({ event: 'refused', remote: s.remoteAddress, code: 'tls', reason: e.message }));
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
    for (const c of [...this.conns]) c.close('receiver shutting down', 'shutdown');
    await Promise.all(this.servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    this.servers.length = 0;
  }

  get connectionCount(): number {
    return this.conns.size;
  }

  private accept(sock: net.Socket): void {
    const addr = sock.remoteAddress ?? '?';
    const remote = `${addr}:${sock.remotePort}`;
    const n = this.perAddress.get(addr) ?? 0;
    if (this.conns.size >= this.o.maxConnections || n >= this.o.maxPerAddress) {
      const which = this.conns.size >= this.o.maxConnections ? `${this.o.maxConnections} connections in total` : `${this.o.maxPerAddress} connections from ${addr}`;
      this.log({ event: 'refused', remote, code: 'cap', reason: `connection cap reached (${which})` });
      this.emit('refused', { remote, reason: which });
      sock.destroy();
      return;
    }
    this.perAddress.set(addr, n + 1);
    const socket = this.o.tls ? sock : this.adopt(sock, () => conn);
    socket.setNoDelay(true);
    socket.setTimeout(this.o.idleTimeout * 1000, () => conn.close(`idle for ${this.o.idleTimeout} s`, 'idle'));
    socket.on('error', (e) => conn.close(`socket error: ${e.message}`, 'error'));
    socket.on('close', () => conn.close('peer closed the connection', 'peer-closed'));
    socket.on('end', () => conn.close('peer closed the connection', 'peer-closed'));
    socket.on('drain', () => conn.maybeResume());
    const conn: Conn = new Conn(socket, remote, this, this.o.handshakeTimeout);
    (conn as unknown as { addr: string }).addr = addr;
    this.conns.add(conn);
    if (this.o.tls) {
      socket.on('data', (buf: Buffer) => {
        if (!conn.onBytes(buf)) this.pause(conn);
      });
    }
  }

  /**
   * Re-wrap an accepted (paused) socket's handle in a Socket that reads into one shared buffer: the public
   * `onread` option exists only for client sockets, and reading into a reused 1 MiB buffer instead of a
   * fresh 64 KiB one per read roughly doubles loopback goodput (see docs/transport.md). Falls back to the
   * accepted socket if Node's internals ever change.
   */
  private adopt(old: net.Socket, conn: () => Conn): net.Socket {
    const internal = old as unknown as { _handle: unknown };
    const handle = internal._handle;
    if (!handle) {
      old.on('data', (buf: Buffer) => {
        if (!conn().onBytes(buf)) this.pause(conn());
      });
      old.resume();
      return old;
    }
    internal._handle = null;
    old.destroy();
    return new net.Socket({
      handle,
      readable: true,
      writable: true,
      onread: {
        buffer: () => this.readBuf,
        callback: (n: number, buf: Uint8Array) => {
          const c = conn();
          const ok = c.onBytes((buf as Buffer).subarray(0, n));
          if (!ok) c.paused = true;
          return ok;
        },
      },
    } as net.SocketConstructorOpts);
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
    if (req.declaredSize > this.o.maxSize) throw new ProtocolError('out-of-range', `declared size ${req.declaredSize} exceeds this receiver's limit ${this.o.maxSize}`);
    const id = randomBytes(8).toString('hex');
    const sink = await this.o.sink({ session: id, size: req.declaredSize });
    const s = new ReceiverSession(id, req.declaredSize, sink);
    this.sessions.set(id, s);
    s.on('commit', (r: CommitReport) => this.emit('commit', r));
    this.log({ event: 'session-start', session: id, reason: `${req.declaredSize} bytes into a ${sink.kind} sink` });
    this.emit('session', s);
    return s;
  }

  bound(conn: Conn): void {
    this.log({ event: 'channel-bound', remote: conn.remote, session: conn.session?.id, channel: conn.channel });
  }

  findSession(id: string): ReceiverSession | undefined {
    return this.sessions.get(id);
  }

  closed(conn: Conn, reason: string, code: string): void {
    if (!this.conns.delete(conn)) return;
    const addr = (conn as unknown as { addr: string }).addr;
    const n = (this.perAddress.get(addr) ?? 1) - 1;
    if (n <= 0) this.perAddress.delete(addr);
    else this.perAddress.set(addr, n);
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
      if (s.channels.size === 0) {
        this.sessions.delete(s.id);
        void s.end().then(() => {
          this.log({ event: 'session-end', session: s.id, reason: s.result ? `committed: ${s.result.status}` : 'all channels closed before a commit' });
          this.emit('session-end', s);
        });
      }
    }
  }

  private log(e: ReceiverLogEvent): void {
    this.o.log?.(e);
  }
}
