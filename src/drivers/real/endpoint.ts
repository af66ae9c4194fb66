// The destination of real migrations: a transport Receiver whose sessions carry one migration each (or a
// link probe, or an administrative request). Several migrations run at once (`maxIncoming`, each with its
// own session, sink, memory, staging ring and files; incoming.ts admits them). It creates a VM's shell
// (memory, the configuration file, an empty disk image) when its source says hello, writes pages into that
// memory and disk data into the image as chunks arrive, records the instant it resumes the VM, and deletes
// everything a migration created unless the VM was resumed here. A `<vm>.migrating` marker lists a
// migration's files from the start, so a destination that crashed removes them when it starts again.
//
// The guest does not execute on the destination: "resume" records the instant and keeps the memory as it
// arrived, so it can be hashed against the source's memory at the pause.

import { EventEmitter } from 'node:events';
import { closeSync, ftruncateSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Cause } from '../../migration/events.js';
import type { Endpoint } from '../../transport/tcp/address.js';
import { Receiver, type ReceiverSession } from '../../transport/tcp/receiver.js';
import { MemorySink } from '../../transport/tcp/sinks.js';
import { processCpuSeconds } from '../../guest/real/thread-cpu.js';
import { migrationHashes } from './dest-hash.js';
import { ReservePool, StagingRings } from './dest-memory.js';
import { DEFAULT_MAX_INCOMING, Incoming, type Migration } from './incoming.js';
import { decode, encode, PROTOCOL_VERSION, STAGING_BYTES, VM_NAME, vmFiles, type Envelope, type Hello, type Replies, type ReplyBody, type Request, type ToSource } from './protocol.js';
import { MigrationSink } from './sink.js';

export interface EndpointOptions {
  listen: Endpoint[];
  key?: Buffer;
  insecure?: boolean;
  /** Directory for the VMs' files. */
  dir: string;
  /** Bytes of guest memory held at once, over every migration (a larger one alone is refused too). */
  maxMemory?: number;
  /** Migrations in flight at once (default 4); one more is refused, saying so. */
  maxIncoming?: number;
  /**
   * Bytes of memory this host keeps allocated and zeroed for incoming VMs (a Windows host hands a new VM
   * pages its zero-page thread already cleared; here, first-touch page faults cost about 4 us a page).
   * Each migration leases what it needs of it while it is free (dest-memory.ts); 0: each VM's memory is
   * faulted in as its data arrives.
   */
  reserve?: number;
  /**
   * Obey the source's `fault` requests (crash this process, fail the disk writes). A test-only switch
   * (`migrate-receiver --allow-fault-injection`; the local receiver `migrate` starts for a run with
   * faults): otherwise any key holder could kill the destination. Without it a request is refused and logged.
   */
  allowFaultInjection?: boolean;
  /** Tests only: a migration's handoff request waits for this (to hold several migrations in flight at once). */
  holdHandoff?: (id: string) => Promise<void>;
  log?: (line: string) => void;
}

/** What a source is told when it asks a destination without the test-only switch to inject a fault. */
export const NO_FAULT_INJECTION = 'this destination does not allow fault injection (a test-only switch: start migrate-receiver with --allow-fault-injection)';

/** What a session said in its hello: requests naming a migration are honoured only where they belong. */
type Role = { kind: 'admin' | 'probe' } | { kind: 'migrate'; id: string } | { kind: 'refused'; id: string };

/** Events: 'migration' (state: 'created' | 'resumed' | 'done' | 'aborted', id). */
export class MigrationEndpoint extends EventEmitter {
  private readonly receiver: Receiver;
  private readonly incoming: Incoming;
  private readonly roles = new WeakMap<ReceiverSession, Role>();
  /** Sessions whose channels all closed (a hello that waited for room must not outlive its session). */
  private readonly ended = new WeakSet<ReceiverSession>();
  private readonly log: (line: string) => void;
  private reserve: ReservePool | null = null;
  private readonly rings: StagingRings;

  constructor(private readonly o: EndpointOptions) {
    super();
    this.log = o.log ?? (() => undefined);
    const maxIncoming = o.maxIncoming ?? DEFAULT_MAX_INCOMING;
    this.incoming = new Incoming(o.dir, { maxIncoming, maxMemory: o.maxMemory ?? 2 ** 40 }, this.log);
    this.rings = new StagingRings(maxIncoming);
    this.receiver = new Receiver({
      listen: o.listen,
      ...(o.key ? { key: o.key } : {}),
      insecure: o.insecure ?? false,
      maxSize: 2 ** 50,
      // Room for every migration's channels (up to 32 each) besides probes and administrative sessions,
      // also when they all come from one source host.
      maxConnections: Math.max(256, 32 * (maxIncoming + 4)),
      maxPerAddress: Math.max(64, 32 * (maxIncoming + 1)),
      sink: () => new MigrationSink(),
      log: (e) => {
        if (e.event === 'channel-closed' && e.code !== 'peer-closed') this.log(`channel ${e.channel ?? '?'} of session ${e.session ?? '?'} closed [${e.code}]: ${e.reason}`);
        if (e.event === 'refused') this.log(`refused ${e.remote}: ${e.reason}`);
      },
    });
    this.receiver.on('session', (s: ReceiverSession) => this.onSession(s));
    this.receiver.on('session-end', (s: ReceiverSession) => this.onSessionEnd(s));
  }

  /** Reserve memory, remove what interrupted migrations left (their markers), then listen. */
  async start(): Promise<Endpoint[]> {
    // The first staging ring is faulted in now; more as migrations run at once (kept for the next ones).
    this.rings.warm();
    if (this.o.reserve) {
      const t = performance.now();
      this.reserve = new ReservePool(this.o.reserve);
      this.log(`reserved ${this.o.reserve} bytes of zeroed memory for incoming VMs in ${((performance.now() - t) / 1000).toFixed(2)} s`);
    }
    this.incoming.sweep();
    return this.receiver.listen();
  }

  async close(): Promise<void> {
    for (const m of this.incoming.all()) if (m.state === 'setup') this.abortMigration(m, 'the destination shuts down');
    await this.receiver.close();
  }

  /** Migrations in flight now, and the most there were at once. */
  get inFlight(): number {
    return this.incoming.inFlight().length;
  }

  get peakInFlight(): number {
    return this.incoming.peak;
  }

  /** Bytes of guest memory held now. */
  get memoryHeld(): number {
    return this.incoming.memoryHeld();
  }

  /** Files of VM `vm` in the directory (the marker included). */
  filesOf(vm: string): string[] {
    return this.incoming.filesOf(vm);
  }

  private onSession(s: ReceiverSession): void {
    const sink = s.sink as MigrationSink;
    const send = (msg: ToSource, bin?: Uint8Array) => s.sendControl(encode(msg, bin)).catch(() => undefined);
    s.on('control', (body: Buffer) => {
      let req: Envelope<Request>;
      let bin: Buffer;
      try {
        ({ msg: req, bin } = decode<Envelope<Request>>(body));
      } catch (e) {
        this.log(`bad control message: ${(e as Error).message}`);
        return;
      }
      const re = req.req ?? 0;
      const fail = (e: unknown) => {
        const err = e as Error & { cause?: unknown };
        const cause = typeof err.cause === 'string' ? (err.cause as Cause) : undefined;
        void send({ t: 'reply', re, ok: false, message: err.message, ...(cause ? { cause } : {}) });
      };
      const answer = (a: ReplyBody | null) => {
        if (a !== null) void send({ t: 'reply', re, ok: true, ...a });
      };
      const run = () => {
        try {
          const a = this.handle(s, sink, req, bin, (msg) => void send(msg));
          if (a instanceof Promise) a.then(answer, fail);
          else answer(a);
        } catch (e) {
          fail(e);
        }
      };
      const hold = req.t === 'handoff' && this.o.holdHandoff ? this.incoming.ofSession(s) : null;
      if (hold) void this.o.holdHandoff!(hold.id).then(run, run);
      else run();
    });
  }

  private handle(s: ReceiverSession, sink: MigrationSink, req: Request, bin: Buffer, send: (m: ToSource) => void): ReplyBody | null | Promise<ReplyBody> {
    switch (req.t) {
      case 'hello': {
        const room = req.kind === 'migrate' && req.version === PROTOCOL_VERSION && Number.isSafeInteger(req.ramBytes) ? this.incoming.roomFor(Number(req.ramBytes)) : [];
        if (room.length === 0) return this.hello(s, sink, req, bin, send);
        return this.incoming.withRoom(Number(req.ramBytes), () => {
          if (this.ended.has(s)) throw new Error('the session ended while the destination made room for it');
          return this.hello(s, sink, req, bin, send);
        });
      }
      case 'fault':
        if (!this.o.allowFaultInjection) {
          this.log(`refused a fault-injection request (${String(req.kind)}): started without --allow-fault-injection`);
          // Also unsolicited: a source that does not wait for the reply (a crash request) still learns it.
          send({ t: 'error', cause: 'dest_refused', message: NO_FAULT_INJECTION });
          throw withCause(new Error(NO_FAULT_INJECTION), 'dest_refused');
        }
        if ('on' in req) {
          // Armed for this session's migration only; the others' resume requests are not touched.
          const m = this.mine(s);
          m.onResume = req.kind;
          this.log(`armed: ${req.kind} when migration ${m.id}'s resume request arrives (test fault)`);
          return {};
        }
        if (req.kind === 'crash') {
          // The whole process: every migration in flight here is interrupted (a restart removes them all).
          this.log('crashing on request (dest-crash fault)');
          process.kill(process.pid, 'SIGKILL');
          return null;
        }
        sink.failWrites = true; // this session's disk writes only
        this.log(`destination storage fails ${this.incoming.ofSession(s)?.id ?? 'this session'}'s writes from now on (dest-storage-error fault)`);
        return {};
      case 'handoff': {
        const m = this.mine(s);
        if (sink.failWrites || sink.storageError) throw withCause(new Error(`cannot open the VM's files: ${sink.storageError ?? 'EIO: the destination storage failed (injected dest-storage-error)'}`), 'dest_storage_error');
        const have = sink.stateCoverage.covered(m.stateBytes);
        if (have !== m.stateBytes) throw new Error(`device state incomplete: ${have} of ${m.stateBytes} bytes`);
        if (sink.diskFd !== null && sink.diskCoverage.covered(sink.diskBytes) !== sink.diskBytes) {
          throw withCause(new Error(`disk copy incomplete: ${sink.diskBytes - sink.diskCoverage.covered(sink.diskBytes)} bytes missing`), 'dest_storage_error');
        }
        return {};
      }
      case 'resume':
        return this.resume(s);
      case 'done': {
        const m = req.id !== undefined ? this.addressed(s, req.id) : this.mine(s);
        if (!m || (m.state !== 'resumed' && m.state !== 'done')) throw new Error(`no resumed migration ${req.id ?? ''} to end`);
        const first = m.state !== 'done';
        m.state = 'done';
        this.emit('migration', 'done', m.id);
        // This process's CPU over the migration, when nothing else ran in it meanwhile.
        return { cpuSeconds: first && !m.overlapped ? processCpuSeconds() - m.cpu0 : null };
      }
      case 'owner': {
        // In doubt (the source lost the resume's answer): this host's word on who runs the VM is final. A
        // VM not running here is fenced off (a resume request arriving later is refused) and deleted.
        const m = this.addressed(s, req.id);
        if (m && (m.state === 'resumed' || m.state === 'done')) return { owner: 'destination', at: m.resumedAt!.toString(), filesLeft: this.filesOf(m.vm).length };
        if (m && m.state === 'setup') this.abortMigration(m, 'fenced off: the source asked who runs the VM before it resumed here');
        // After a restart: the files of a VM that resumed here stay (its marker was removed at the resume).
        const files = this.filesOf(`vm-${req.id}`);
        if (!m && files.length > 0 && !files.some((f) => f.endsWith('.migrating'))) return { owner: 'destination', filesLeft: files.length };
        return { owner: 'source', filesLeft: files.length };
      }
      case 'verify': {
        const m = this.addressed(s, req.id);
        // Its memory went for another migration's room: the hashes taken just before answer.
        if (m?.hashes) return req.regions ? m.hashes : { ram: m.hashes.ram, state: m.hashes.state, disk: m.hashes.disk };
        const ram = m?.sink.ram;
        if (!m || !ram) throw new Error(`no memory of migration ${req.id} to verify`);
        const disk = m.files[1] ? join(this.o.dir, m.files[1]) : null;
        return this.incoming.pinned(m, () => migrationHashes(ram, m.ramBytes, m.sink.state, disk, req.regions ?? false));
      }
      case 'abort': {
        const role = this.roles.get(s);
        // The source whose hello was refused rolls back: nothing of its own is here; another migration of
        // that id (a duplicate hello) is not its to abort.
        if (role?.kind === 'refused' && role.id === req.id) return { filesLeft: this.filesOf(`vm-${req.id}`).length };
        const m = this.addressed(s, req.id);
        if (m && m.state === 'setup') this.abortMigration(m, 'the source rolled back');
        return { filesLeft: this.filesOf(`vm-${req.id}`).length };
      }
      case 'release': {
        const m = this.addressed(s, req.id);
        if (m?.state === 'setup') throw new Error(`migration ${m.id} is in progress: its memory goes when it ends`);
        if (m) {
          this.incoming.sourceReleased(m);
          this.incoming.discardScratch(m);
        }
        return { filesLeft: this.filesOf(`vm-${req.id}`).length };
      }
      case 'status':
        if (!this.roles.has(s)) throw new Error('no hello on this session');
        return { filesLeft: this.filesOf(`vm-${req.id}`).length };
      default:
        throw new Error(`unknown request ${(req as { t: string }).t}`);
    }
  }

  private resume(s: ReceiverSession): Replies['resume'] | null {
    const m = this.mine(s);
    if (m.onResume === 'crash') {
      this.log(`crashing as migration ${m.id}'s resume request arrives (dest-crash fault)`);
      process.kill(process.pid, 'SIGKILL');
      return null;
    }
    if (m.state !== 'setup') throw new Error(`migration ${m.id} cannot resume here: it is ${m.state}`);
    m.resumedAt = process.hrtime.bigint();
    m.state = 'resumed';
    rmSync(m.marker, { force: true }); // the files are the running VM's own now
    // No page packet comes after the resume: the staging ring can serve another migration.
    const ring = m.sink.dropStaging();
    if (ring) this.rings.give(ring);
    this.log(`VM ${m.vm} resumed`);
    this.emit('migration', 'resumed', m.id);
    if (m.onResume === 'link-down') {
      // The link fails with the answer on its way: the VM runs here, the source does not know it.
      m.onResume = null;
      this.log(`dropping migration ${m.id}'s session before answering (link-down fault)`);
      for (const c of [...s.channels.values()]) c.close('link-down fault at resume', 'fault');
      return null;
    }
    return { at: m.resumedAt.toString() };
  }

  private hello(s: ReceiverSession, sink: MigrationSink, h: Hello, bin: Buffer, send: (m: ToSource) => void): Replies['hello'] {
    if (h.version !== PROTOCOL_VERSION) throw new Error(`protocol version ${h.version} (this destination speaks ${PROTOCOL_VERSION})`);
    const had = this.roles.get(s);
    if (had) throw new Error(`this session already said hello (${had.kind}${'id' in had ? ` ${had.id}` : ''}); a migration needs a session of its own`);
    if (h.kind === 'admin' || h.kind === 'probe') {
      if (h.kind === 'probe' && !(s.size > STAGING_BYTES)) throw new Error(`probe stream of ${s.size} bytes has no room for its staging area (${STAGING_BYTES} bytes)`);
      this.roles.set(s, { kind: h.kind });
      if (h.kind === 'probe') sink.startProbe(s.size);
      return {};
    }
    const t0 = process.hrtime.bigint();
    const id = String(h.id ?? '');
    const vm = String(h.vm ?? '');
    const ram = Number(h.ramBytes);
    const disk = Number(h.diskBytes ?? 0);
    const staging = Number(h.stagingBytes ?? 0);
    const stateBytes = Number(h.stateBytes ?? 0);
    this.roles.set(s, { kind: 'refused', id }); // until it is accepted
    if (!VM_NAME.test(vm) || vm !== `vm-${id}`) throw new Error(`bad VM name ${JSON.stringify(vm)}`);
    if (!(Number.isSafeInteger(ram) && ram > 0)) throw new Error(`guest memory of ${ram} bytes is not a size`);
    if (!(Number.isSafeInteger(disk) && disk >= 0 && Number.isSafeInteger(stateBytes) && stateBytes >= 0) || staging !== STAGING_BYTES || s.size !== ram + disk + staging + stateBytes) {
      throw new Error(`stream of ${s.size} bytes does not match memory ${ram} + disk ${disk} + staging ${staging} (expected ${STAGING_BYTES}) + state ${stateBytes}`);
    }
    // Limits, budget, a duplicate id, an existing VM of that name: refused before anything is written.
    this.incoming.admit(id, vm, ram, this.filesOf(vm));
    const names = vmFiles(vm, disk > 0);
    const files = [names.config, ...(names.disk ? [names.disk] : [])];
    const marker = join(this.o.dir, names.marker);
    // The marker first: whatever exists after a crash is listed in it. If a file cannot be created, what
    // this hello created goes again (never a file it did not create).
    const created: string[] = [];
    let fd: number | null = null;
    try {
      writeFileSync(marker, JSON.stringify({ id, files }), { mode: 0o600, flag: 'wx' });
      created.push(marker);
      writeFileSync(join(this.o.dir, names.config), bin, { mode: 0o600, flag: 'wx' });
      created.push(join(this.o.dir, names.config));
      if (names.disk) {
        fd = openSync(join(this.o.dir, names.disk), 'wx+', 0o600);
        created.push(join(this.o.dir, names.disk));
        ftruncateSync(fd, disk);
      }
    } catch (e) {
      if (fd !== null) closeSync(fd);
      for (const p of created.reverse()) rmSync(p, { force: true });
      throw withCause(new Error(`cannot create the VM's files: ${(e as Error).message}`), 'dest_storage_error');
    }
    if (fd !== null) {
      sink.diskFd = fd;
      sink.diskBytes = disk;
    }
    // The VM's memory: what it needs of the host's reserve (zeroed, faulted in), the rest untouched (as
    // QEMU's destination, a page is faulted in when its data first arrives, and zero pages, never sent, are
    // never touched; touching it all here cost 1.1-2.3 s per GiB on this project's VM).
    const lease = this.reserve?.lease(ram) ?? null;
    sink.ram = lease ? new MemorySink(ram, { segments: lease.segments, segmentSize: lease.segmentSize }) : new MemorySink(ram);
    sink.ramBytes = ram;
    sink.staging = this.rings.take(); // this migration's own, until it resumes or ends
    sink.stagingBase = ram + disk;
    sink.state = Buffer.alloc(stateBytes).fill(0); // faulted in now, not when the blackout writes it
    sink.stateBase = ram + disk + STAGING_BYTES;
    sink.onRelease = () => {
      lease?.release();
      const ring = sink.dropStaging();
      if (ring) this.rings.give(ring);
    };
    sink.onStorageError = (message) => {
      this.log(`migration ${id}: storage write failed: ${message}`);
      send({ t: 'error', cause: 'dest_storage_error', message: `the destination's storage failed a write: ${message}` });
    };
    sink.mode = 'migrate';
    const m = this.incoming.add({ id, vm, session: s, sink, files, marker, state: 'setup', ramBytes: ram, stateBytes, resumedAt: null, onResume: null, scratch: h.scratch === true });
    this.roles.set(s, { kind: 'migrate', id });
    const reserved = lease && lease.pooled > 0 ? `, ${lease.pooled} from the reserve` : '';
    this.log(`migration ${id}: VM ${vm} created (${ram} bytes of memory${reserved}${disk ? `, ${disk}-byte disk` : ''}; ${this.inFlight} in flight)`);
    this.emit('migration', 'created', m.id);
    return { prepSeconds: Number(process.hrtime.bigint() - t0) / 1e9 };
  }

  /** The migration this session carries. */
  private mine(s: ReceiverSession): Migration {
    const m = this.incoming.ofSession(s);
    if (!m) throw new Error('no migration on this session');
    return m;
  }

  /**
   * The migration a request names, honoured over that migration's own session or an administrative one
   * (the source after its session died), never over another migration's session.
   */
  private addressed(s: ReceiverSession, id: string): Migration | null {
    const role = this.roles.get(s);
    if (!role) throw new Error('no hello on this session');
    if (role.kind === 'admin' || (role.kind === 'migrate' && role.id === id)) return this.incoming.get(id);
    const what = role.kind === 'migrate' ? `carries migration ${role.id}` : role.kind === 'refused' ? `had its hello for migration ${role.id} refused` : 'is a probe';
    throw new Error(`this session ${what}: it cannot address migration ${id}`);
  }

  private abortMigration(m: Migration, why: string): void {
    this.incoming.abort(m, why);
    this.emit('migration', 'aborted', m.id);
  }

  private onSessionEnd(s: ReceiverSession): void {
    this.ended.add(s);
    const m = this.incoming.ofSession(s);
    if (!m) return;
    this.incoming.detach(m);
    // Not resumed here: the migration is dead, its files go. Resumed: the files are the VM's; the memory
    // stays until verified and released (or needed for another migration).
    if (m.state === 'setup') this.abortMigration(m, 'every channel closed before the VM resumed here');
  }
}

function withCause(e: Error, cause: Cause): Error {
  (e as Error & { cause?: unknown }).cause = cause;
  return e;
}
