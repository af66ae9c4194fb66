// The destination of a real migration: a transport Receiver whose sessions carry one migration each (or a
// link probe, or an administrative request). It creates the VM's shell (memory reserved and touched, the
// configuration file, an empty disk image) when the source says hello, writes pages into that memory and
// disk data into the image as chunks arrive, records the instant it resumes the VM, and deletes
// everything a migration created unless the VM was resumed here. A `<vm>.migrating` marker lists a
// migration's files from the start, so a destination that crashed removes them when it starts again.
//
// The guest does not execute on the destination: "resume" records the instant and keeps the memory as it
// arrived, so it can be hashed against the source's memory at the pause.

import { EventEmitter } from 'node:events';
import { existsSync, ftruncateSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { fileSha256 } from '../../guest/real/disk.js';
import type { Cause } from '../../migration/events.js';
import type { Endpoint } from '../../transport/tcp/address.js';
import { Receiver, type ReceiverSession } from '../../transport/tcp/receiver.js';
import { MemorySink } from '../../transport/tcp/sinks.js';
import { decode, encode, PROTOCOL_VERSION, STAGING_BYTES, VM_NAME, vmFiles, type Envelope, type Hashes, type Hello, type Replies, type ReplyBody, type Request, type ToSource } from './protocol.js';
import { MigrationSink } from './sink.js';

interface Migration {
  id: string;
  vm: string;
  session: ReceiverSession | null;
  sink: MigrationSink;
  files: string[];
  marker: string;
  state: 'setup' | 'resumed' | 'done' | 'aborted';
  stateBytes: number;
  resumedAt: bigint | null;
}

export interface EndpointOptions {
  listen: Endpoint[];
  key?: Buffer;
  insecure?: boolean;
  /** Directory for the VMs' files. */
  dir: string;
  /** Largest guest memory accepted, bytes. */
  maxMemory?: number;
  /**
   * Bytes of memory this host keeps allocated and zeroed for incoming VMs (a Windows host hands a new VM
   * pages its zero-page thread already cleared; here, first-touch page faults cost about 4 us a page).
   * A migration whose memory fits takes it; 0: each VM's memory is faulted in as its data arrives.
   */
  reserve?: number;
  /**
   * Obey the source's `fault` requests (crash this process, fail the disk writes). A test-only switch
   * (`migrate-receiver --allow-fault-injection`; the local receiver `migrate` starts for a run with
   * faults): otherwise any key holder could kill the destination. Without it a request is refused and logged.
   */
  allowFaultInjection?: boolean;
  log?: (line: string) => void;
}

/** What a source is told when it asks a destination without the test-only switch to inject a fault. */
export const NO_FAULT_INJECTION = 'this destination does not allow fault injection (a test-only switch: start migrate-receiver with --allow-fault-injection)';

export class MigrationEndpoint extends EventEmitter {
  private readonly receiver: Receiver;
  private current: Migration | null = null;
  /** A test's fault armed for the resume request: crash before acting on it, or drop the link after. */
  private onResume: 'crash' | 'link-down' | null = null;
  private readonly log: (line: string) => void;

  constructor(private readonly o: EndpointOptions) {
    super();
    this.log = o.log ?? (() => undefined);
    this.receiver = new Receiver({
      listen: o.listen,
      ...(o.key ? { key: o.key } : {}),
      insecure: o.insecure ?? false,
      maxSize: 2 ** 50,
      sink: () => new MigrationSink(),
      log: (e) => {
        if (e.event === 'channel-closed' && e.code !== 'peer-closed') this.log(`channel ${e.channel ?? '?'} of session ${e.session ?? '?'} closed [${e.code}]: ${e.reason}`);
        if (e.event === 'refused') this.log(`refused ${e.remote}: ${e.reason}`);
      },
    });
    this.receiver.on('session', (s: ReceiverSession) => this.onSession(s));
    this.receiver.on('session-end', (s: ReceiverSession) => this.onSessionEnd(s));
  }

  /** Remove what crashed migrations left (their markers), then listen. */
  private reserved: Uint8Array[] = [];
  private reserveBytes = 0;
  private reserveState: 'free' | 'used' | 'dirty' = 'free';
  /**
   * The staging ring for page packets, faulted in once when the endpoint starts and reused by each
   * migration (only one runs at a time; a released sink drops its reference). Round 0 sends whole runs in
   * place, so the ring is first written in the blackout: allocated per migration, every 4 KiB of it
   * cost a page fault there (about 1 ms per packet on this project's VM).
   */
  private stagingRing: Buffer | null = null;

  async start(): Promise<Endpoint[]> {
    this.stagingRing = Buffer.alloc(STAGING_BYTES).fill(0);
    if (this.o.reserve) {
      const t = performance.now();
      this.reserveBytes = this.o.reserve;
      for (let at = 0; at < this.o.reserve; at += 2 ** 30) this.reserved.push(Buffer.alloc(Math.min(2 ** 30, this.o.reserve - at), 0).fill(0));
      this.log(`reserved ${this.o.reserve} bytes of zeroed memory for incoming VMs in ${((performance.now() - t) / 1000).toFixed(2)} s`);
    }
    for (const name of readdirSync(this.o.dir)) {
      if (!name.endsWith('.migrating')) continue;
      const n = this.removeListed(join(this.o.dir, name));
      this.log(`removed ${n} file(s) of an interrupted migration (${name})`);
    }
    return this.receiver.listen();
  }

  async close(): Promise<void> {
    const m = this.current;
    if (m && m.state === 'setup') this.abort(m, 'the destination shuts down');
    await this.receiver.close();
  }

  /** Delete a marker's files and the marker; returns how many existed. */
  private removeListed(marker: string): number {
    let files: string[] = [];
    try {
      files = (JSON.parse(readFileSync(marker, 'utf8')) as { files: string[] }).files;
    } catch {
      /* an unreadable marker: remove just it */
    }
    let n = 0;
    for (const f of files) {
      const p = join(this.o.dir, f);
      if (existsSync(p)) n++;
      rmSync(p, { force: true });
    }
    rmSync(marker, { force: true });
    return n;
  }

  /** Files of VM `vm` in the directory (the marker included). */
  filesOf(vm: string): string[] {
    return readdirSync(this.o.dir).filter((f) => f === `${vm}.vmcx` || f.startsWith(`${vm}-`) || f === `${vm}.migrating`);
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
      try {
        const answer = this.handle(s, sink, req, bin, (msg) => void send(msg));
        if (answer !== null) void send({ t: 'reply', re, ok: true, ...answer });
      } catch (e) {
        const err = e as Error & { cause?: unknown };
        const cause = typeof err.cause === 'string' ? (err.cause as Cause) : undefined;
        void send({ t: 'reply', re, ok: false, message: err.message, ...(cause ? { cause } : {}) });
      }
    });
  }

  private handle(s: ReceiverSession, sink: MigrationSink, req: Request, bin: Buffer, send: (m: ToSource) => void): ReplyBody | null {
    switch (req.t) {
      case 'hello':
        return this.hello(s, sink, req, bin, send);
      case 'fault':
        if (!this.o.allowFaultInjection) {
          this.log(`refused a fault-injection request (${String(req.kind)}): started without --allow-fault-injection`);
          // Also unsolicited: a source that does not wait for the reply (a crash request) still learns it.
          send({ t: 'error', cause: 'dest_refused', message: NO_FAULT_INJECTION });
          throw withCause(new Error(NO_FAULT_INJECTION), 'dest_refused');
        }
        if ('on' in req) {
          this.onResume = req.kind;
          this.log(`armed: ${req.kind} when the resume request arrives (test fault)`);
          return {};
        }
        if (req.kind === 'crash') {
          this.log('crashing on request (dest-crash fault)');
          process.kill(process.pid, 'SIGKILL');
          return null;
        }
        sink.failWrites = true;
        this.log('destination storage fails writes from now on (dest-storage-error fault)');
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
      case 'resume': {
        const m = this.mine(s);
        if (this.onResume === 'crash') {
          this.log('crashing as the resume request arrives (dest-crash fault)');
          process.kill(process.pid, 'SIGKILL');
          return null;
        }
        if (m.state !== 'setup') throw new Error(`migration ${m.id} cannot resume here: it is ${m.state}`);
        m.resumedAt = process.hrtime.bigint();
        m.state = 'resumed';
        rmSync(m.marker, { force: true }); // the files are the running VM's own now
        this.log(`VM ${m.vm} resumed`);
        if (this.onResume === 'link-down') {
          // The link fails with the answer on its way: the VM runs here, the source does not know it.
          this.onResume = null;
          this.log('dropping the migration session before answering (link-down fault)');
          for (const c of [...s.channels.values()]) c.close('link-down fault at resume', 'fault');
          return null;
        }
        return { at: m.resumedAt.toString() };
      }
      case 'done': {
        const m = req.id !== undefined ? this.byId(req.id) : this.mine(s);
        if (!m || (m.state !== 'resumed' && m.state !== 'done')) throw new Error(`no resumed migration ${req.id ?? ''} to end`);
        m.state = 'done';
        return {};
      }
      case 'owner': {
        // In doubt (the source lost the resume's answer): this host's word on who runs the VM is final. A
        // VM not running here is fenced off (a resume request arriving later is refused) and deleted.
        const m = this.byId(req.id);
        if (m && (m.state === 'resumed' || m.state === 'done')) return { owner: 'destination', at: m.resumedAt!.toString(), filesLeft: this.filesOf(m.vm).length };
        if (m && m.state === 'setup') this.abort(m, 'fenced off: the source asked who runs the VM before it resumed here');
        // After a restart: the files of a VM that resumed here stay (its marker was removed at the resume).
        const files = this.filesOf(`vm-${req.id}`);
        if (!m && files.length > 0 && !files.some((f) => f.endsWith('.migrating'))) return { owner: 'destination', filesLeft: files.length };
        return { owner: 'source', filesLeft: files.length };
      }
      case 'verify': {
        const m = this.byId(req.id);
        if (!m || !m.sink.ram) throw new Error(`no memory of migration ${req.id} to verify`);
        return this.hashes(m, req.regions ?? false);
      }
      case 'abort': {
        const m = this.byId(req.id);
        if (m && m.state === 'setup') this.abort(m, 'the source rolled back');
        return { filesLeft: this.filesOf(`vm-${req.id}`).length };
      }
      case 'release': {
        const m = this.byId(req.id);
        m?.sink.release();
        return { filesLeft: this.filesOf(`vm-${req.id}`).length };
      }
      case 'status':
        return { filesLeft: this.filesOf(`vm-${req.id}`).length };
      default:
        throw new Error(`unknown request ${(req as { t: string }).t}`);
    }
  }

  private hello(s: ReceiverSession, sink: MigrationSink, h: Hello, bin: Buffer, send: (m: ToSource) => void): Replies['hello'] {
    if (h.version !== PROTOCOL_VERSION) throw new Error(`protocol version ${h.version} (this destination speaks ${PROTOCOL_VERSION})`);
    if (h.kind === 'admin') return {};
    if (h.kind === 'probe') {
      if (!(s.size > STAGING_BYTES)) throw new Error(`probe stream of ${s.size} bytes has no room for its staging area (${STAGING_BYTES} bytes)`);
      sink.startProbe(s.size);
      return {};
    }
    const t0 = process.hrtime.bigint();
    const id = String(h.id ?? '');
    const vm = String(h.vm ?? '');
    const ram = Number(h.ramBytes);
    const disk = Number(h.diskBytes ?? 0);
    const staging = Number(h.stagingBytes ?? 0);
    if (!VM_NAME.test(vm) || vm !== `vm-${id}`) throw new Error(`bad VM name ${JSON.stringify(vm)}`);
    if (!(Number.isSafeInteger(ram) && ram > 0 && ram <= (this.o.maxMemory ?? 2 ** 40))) throw new Error(`guest memory of ${ram} bytes is more than this destination accepts`);
    const stateBytes = Number(h.stateBytes ?? 0);
    if (!(Number.isSafeInteger(disk) && disk >= 0 && Number.isSafeInteger(stateBytes) && stateBytes >= 0) || staging !== STAGING_BYTES || s.size !== ram + disk + staging + stateBytes) {
      throw new Error(`stream of ${s.size} bytes does not match memory ${ram} + disk ${disk} + staging ${staging} (expected ${STAGING_BYTES}) + state ${stateBytes}`);
    }
    const cur = this.current;
    if (cur && cur.state === 'setup' && cur.session && !cur.session.ended) throw new Error(`busy with migration ${cur.id}`);
    const names = vmFiles(vm, disk > 0);
    // A VM of that name is here already (a completed migration's files): refuse before anything is written.
    // Its files must never be listed in this migration's marker, or the rollback would delete them.
    const present = this.filesOf(vm);
    if (present.length > 0) throw new Error(`VM ${vm} already exists on this destination (${present.join(', ')}); a migration needs a new id`);
    cur?.sink.release();
    const m: Migration = {
      id,
      vm,
      session: s,
      sink,
      files: [names.config, ...(names.disk ? [names.disk] : [])],
      marker: join(this.o.dir, names.marker),
      state: 'setup',
      stateBytes: Number(h.stateBytes ?? 0),
      resumedAt: null,
    };
    this.current = m;
    // The marker first: whatever exists after a crash is listed in it.
    writeFileSync(m.marker, JSON.stringify({ id, files: m.files }), { mode: 0o600 });
    writeFileSync(join(this.o.dir, names.config), bin, { mode: 0o600, flag: 'wx' });
    if (names.disk) {
      const fd = openSync(join(this.o.dir, names.disk), 'wx+', 0o600);
      ftruncateSync(fd, disk);
      sink.diskFd = fd;
      sink.diskBytes = disk;
    }
    // Reserve the VM's memory, untouched: as QEMU's destination, a page is faulted in when its data first
    // arrives, and zero pages (never sent) are never touched. Touching it all here cost 1.1-2.3 s per GiB
    // on this project's VM (first-touch faults are slow there) against 0.04-0.07 s of setup without.
    if (this.reserveBytes >= ram && this.reserveState !== 'used') {
      // The host's reserved memory: already faulted in; zeroed again if an earlier VM used it.
      if (this.reserveState === 'dirty') for (const seg of this.reserved) seg.fill(0);
      sink.ram = new MemorySink(ram, { segments: this.reserved });
      this.reserveState = 'used';
      sink.onRelease = () => (this.reserveState = 'dirty');
    } else sink.ram = new MemorySink(ram);
    sink.ramBytes = ram;
    sink.staging = this.stagingRing ?? Buffer.alloc(STAGING_BYTES).fill(0);
    sink.stagingBase = ram + disk;
    sink.state = Buffer.alloc(stateBytes).fill(0); // faulted in now, not when the blackout writes it
    sink.stateBase = ram + disk + STAGING_BYTES;
    sink.onStorageError = (message) => {
      this.log(`storage write failed: ${message}`);
      send({ t: 'error', cause: 'dest_storage_error', message: `the destination's storage failed a write: ${message}` });
    };
    sink.mode = 'migrate';
    this.log(`migration ${id}: VM ${vm} created (${ram} bytes of memory${disk ? `, ${disk}-byte disk` : ''})`);
    return { prepSeconds: Number(process.hrtime.bigint() - t0) / 1e9 };
  }

  private hashes(m: Migration, regions: boolean): Hashes {
    const ram = m.sink.ram!;
    const h = createHash('sha256');
    const ramRegions: string[] = [];
    for (let at = 0; at < m.sink.ramBytes; at += 2 ** 20) {
      const piece = readRam(ram, at, Math.min(2 ** 20, m.sink.ramBytes - at));
      h.update(piece);
      if (regions) ramRegions.push(createHash('sha256').update(piece).digest('hex'));
    }
    const diskPath = m.files[1] ? join(this.o.dir, m.files[1]) : null;
    const disk = diskPath && existsSync(diskPath) ? fileSha256(diskPath, { regions }) : null;
    const state = createHash('sha256').update(m.sink.state ?? Buffer.alloc(0)).digest('hex');
    return { ram: h.digest('hex'), disk: disk?.sha256 ?? null, state, ...(regions ? { ramRegions, diskRegions: disk?.regions ?? [] } : {}) };
  }

  private mine(s: ReceiverSession): Migration {
    const m = this.current;
    if (!m || m.session !== s) throw new Error('no migration on this session');
    return m;
  }

  private byId(id: string): Migration | null {
    return this.current && this.current.id === id ? this.current : null;
  }

  private abort(m: Migration, why: string): void {
    m.state = 'aborted';
    m.sink.release();
    const n = this.removeListed(m.marker);
    this.log(`migration ${m.id} aborted (${why}): ${n} file(s) removed`);
  }

  private onSessionEnd(s: ReceiverSession): void {
    const m = this.current;
    if (!m || m.session !== s) return;
    m.session = null;
    // Not resumed here: the migration is dead, its files go. Resumed: the files are the VM's; the memory
    // stays until verified or released (or the next migration).
    if (m.state === 'setup') this.abort(m, 'every channel closed before the VM resumed here');
  }
}

function withCause(e: Error, cause: Cause): Error {
  (e as Error & { cause?: unknown }).cause = cause;
  return e;
}

function readRam(ram: MemorySink, at: number, n: number): Buffer {
  const seg = Math.floor(at / ram.segmentSize);
  const off = at % ram.segmentSize;
  if (off + n <= ram.segmentSize) {
    const s = ram.segments[seg]!;
    return Buffer.from(s.buffer, s.byteOffset + off, n);
  }
  return ram.read(at, n);
}
