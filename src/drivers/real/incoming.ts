// The destination's migrations: one record per migration (its session, sink, files, marker, state), the
// admission of a new one (`--max-incoming` migrations in flight at once; the memory of those held here
// within `--max-memory`; an id never used twice at once), and the `<vm>.migrating` markers that let a
// restarted destination remove what interrupted migrations left, and only that. When a new migration needs
// memory that completed ones hold (kept for their source's verification), those are hashed first and the
// hashes kept in their stead, so their verification still answers (`roomFor`, `hashes`).

import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { MigbenchError } from '../../errors.js';
import type { ReceiverSession } from '../../transport/tcp/receiver.js';
import { formatBytes } from '../../units/index.js';
import { processCpuSeconds } from '../../guest/real/thread-cpu.js';
import { migrationHashes } from './dest-hash.js';
import type { Hashes } from './protocol.js';
import type { MigrationSink } from './sink.js';

/** Default and bounds of `migrate-receiver --max-incoming`. */
export const DEFAULT_MAX_INCOMING = 4;
export const MAX_INCOMING_LIMIT = 64;

export interface Migration {
  id: string;
  vm: string;
  /** The migration's session; null once every channel of it closed. */
  session: ReceiverSession | null;
  sink: MigrationSink;
  /** Names (in the directory) of the files this migration created. */
  files: string[];
  /** Path of the `<vm>.migrating` marker (removed when the VM resumes here). */
  marker: string;
  state: 'setup' | 'resumed' | 'done' | 'aborted';
  ramBytes: number;
  stateBytes: number;
  resumedAt: bigint | null;
  /** A test's fault armed for this migration's resume request. */
  onResume: 'crash' | 'link-down' | null;
  /** A measurement (hello `scratch`): its files go with its memory when its source releases it. */
  scratch: boolean;
  /** Admission order (oldest first when memory must be freed). */
  seq: number;
  /** Hashes being computed over the memory (it is not released meanwhile). */
  pins: number;
  /** A release asked for while pinned: done when the last pin goes. */
  releasePending: boolean;
  /**
   * Its hashes (with the per-MiB regions), taken before its memory was released to make room for another
   * migration: what `verify` answers from then on. Null while the memory is held, and once its source
   * released it.
   */
  hashes: Hashes | null;
  /** This process's CPU seconds when the migration was admitted (its own CPU is the growth until `done`). */
  cpu0: number;
  /** Other work shared the process meanwhile (another migration, hashing for room): its CPU is not its own. */
  overlapped: boolean;
}

/** Completed migrations whose memory went for room, remembered by their hashes until their source releases them; beyond this many the oldest are forgotten. */
export const MAX_HASHED_RECORDS = 256;

export type RefusalReason = 'limit' | 'budget' | 'duplicate' | 'exists' | 'session';

/** A hello the destination will not take; the message is what the source prints beside dest_refused. */
export class IncomingRefused extends MigbenchError {
  constructor(
    readonly reason: RefusalReason,
    message: string,
  ) {
    super('E_MIGRATION', message);
  }
}

export interface AdmissionLimits {
  /** Migrations in flight at once. */
  maxIncoming: number;
  /** Bytes of guest memory held at once, over every migration. */
  maxMemory: number;
}

export class Incoming {
  private readonly byId = new Map<string, Migration>();
  private readonly bySession = new Map<ReceiverSession, Migration>();
  private seq = 0;
  /** The hellos waiting for room, one after another (withRoom). */
  private roomTurns: Promise<void> = Promise.resolve();
  /** The most migrations that were in flight at once. */
  peak = 0;

  constructor(
    private readonly dir: string,
    private readonly limits: AdmissionLimits,
    private readonly log: (line: string) => void,
  ) {}

  /** In flight: set up here and not yet resumed, or resumed with its session still open (until `done`). */
  inFlight(): Migration[] {
    return [...this.byId.values()].filter((m) => m.state === 'setup' || (m.state === 'resumed' && m.session !== null));
  }

  /** Bytes of guest memory held now (migrations in flight, and completed ones not yet verified and released). */
  memoryHeld(): number {
    let n = 0;
    for (const m of this.byId.values()) if (m.sink.ram) n += m.ramBytes;
    return n;
  }

  get(id: string): Migration | null {
    return this.byId.get(id) ?? null;
  }

  ofSession(s: ReceiverSession): Migration | null {
    return this.bySession.get(s) ?? null;
  }

  all(): Migration[] {
    return [...this.byId.values()];
  }

  /**
   * The completed migrations whose memory must go (oldest first) for `ram` more bytes to fit the budget:
   * only memory kept for a source's verification, never a migration's in flight, nor one being hashed.
   * Empty when it fits already, or when even all of them would not make room (admit says why).
   */
  roomFor(ram: number): Migration[] {
    const { maxMemory } = this.limits;
    let need = this.memoryHeld() + ram - maxMemory;
    if (need <= 0 || ram > maxMemory) return [];
    const out: Migration[] = [];
    for (const m of this.completedHolding()) {
      if (need <= 0) break;
      out.push(m);
      need -= m.ramBytes;
    }
    return need <= 0 ? out : [];
  }

  /**
   * Hash each completed migration named (its memory is held only for its source's verification), keep
   * the hashes, release its memory: a new migration gets the room and the old one's verification still
   * answers. The other migrations keep flowing meanwhile (the hashing yields every few MiB).
   */
  private async makeRoom(room: Migration[]): Promise<void> {
    for (const m of room) {
      const ram = m.sink.ram;
      if (!ram || m.pins > 0 || m.hashes) continue;
      for (const x of this.inFlight()) x.overlapped = true;
      const t0 = performance.now();
      const disk = m.files[1] ? join(this.dir, m.files[1]) : null;
      const h = await this.pinned(m, () => migrationHashes(ram, m.ramBytes, m.sink.state, disk, true));
      if (!m.sink.ram) continue; // released meanwhile (its source verified it)
      this.releaseHashed(m, h);
      this.log(`made room: completed migration ${m.id}'s memory (${m.ramBytes} bytes) hashed in ${((performance.now() - t0) / 1000).toFixed(2)} s and released; its verification answers from the hashes`);
    }
  }

  /**
   * Make room for a migration of `ram` bytes (what roomFor names, again until it names nothing), then
   * `admit` it. Hellos that need room take turns: each makes its room and is admitted before the next
   * looks, so no two count on the same room and none takes memory another has just hashed and freed.
   */
  withRoom<T>(ram: number, admit: () => T): Promise<T> {
    const turn = async (): Promise<T> => {
      for (let i = 0; i < 64; i++) {
        const room = this.roomFor(ram);
        if (room.length === 0) break;
        await this.makeRoom(room);
      }
      return admit();
    };
    const p = this.roomTurns.then(turn, turn);
    this.roomTurns = p.then(
      () => undefined,
      () => undefined,
    );
    return p;
  }

  /** Completed migrations holding memory only for their source's verification (none being hashed), oldest first. */
  private completedHolding(): Migration[] {
    return [...this.byId.values()].filter((m) => m.sink.ram && m.pins === 0 && (m.state === 'done' || (m.state === 'resumed' && m.session === null))).sort((a, b) => a.seq - b.seq);
  }

  /** Its memory went for room, its hashes are kept (`hashes` set): release it, and bound what is remembered. */
  releaseHashed(m: Migration, hashes: Hashes): void {
    m.hashes = hashes;
    this.release(m);
    const hashed = [...this.byId.values()].filter((x) => x.hashes !== null && x.sink.ram === null).sort((a, b) => a.seq - b.seq);
    for (const x of hashed.slice(0, Math.max(0, hashed.length - MAX_HASHED_RECORDS))) {
      x.hashes = null;
      this.log(`forgot the hashes of completed migration ${x.id} (more than ${MAX_HASHED_RECORDS} kept; its source never asked): its verification can no longer answer`);
      this.forgetIfOver(x);
    }
  }

  /** Its source released it: nothing of it is needed any more. */
  sourceReleased(m: Migration): void {
    m.hashes = null;
    this.release(m);
  }

  /**
   * May a migration of `ram` bytes with this id start now? Throws IncomingRefused saying why not. The
   * room completed migrations can give for the budget is made before (withRoom); a migration in flight
   * never gives its memory.
   */
  admit(id: string, vm: string, ram: number, present: string[]): void {
    const { maxIncoming, maxMemory } = this.limits;
    const same = this.byId.get(id);
    if (same && same.state !== 'aborted') {
      throw new IncomingRefused('duplicate', `migration ${id} is already ${same.state === 'setup' ? 'in progress' : 'resumed'} on this destination (a duplicate or replayed hello); a migration needs a new id`);
    }
    // A VM of that name is here already (a completed migration's files): refuse before anything is written.
    // Its files must never be listed in this migration's marker, or the rollback would delete them.
    if (present.length > 0) throw new IncomingRefused('exists', `VM ${vm} already exists on this destination (${present.join(', ')}); a migration needs a new id`);
    const flying = this.inFlight();
    if (flying.length >= maxIncoming) {
      throw new IncomingRefused('limit', `this destination already receives ${flying.length} migration(s), its limit (migrate-receiver --max-incoming ${maxIncoming}); try again when one has finished`);
    }
    if (ram > maxMemory) {
      throw new IncomingRefused('budget', `guest memory of ${formatBytes(ram)} (${ram} bytes) is more than this destination accepts (migrate-receiver --max-memory ${formatBytes(maxMemory)})`);
    }
    // Room that completed migrations could give was made before (withRoom, their hashes kept); what is
    // held now is held by migrations in flight or being verified.
    const held = this.memoryHeld();
    if (held + ram > maxMemory) {
      const holders = [...this.byId.values()].filter((m) => m.sink.ram).length;
      throw new IncomingRefused(
        'budget',
        `guest memory of ${formatBytes(ram)} does not fit this destination's memory budget (migrate-receiver --max-memory ${formatBytes(maxMemory)}): ${formatBytes(held)} held by ${holders} other migration(s)`,
      );
    }
  }

  add(m: Omit<Migration, 'seq' | 'pins' | 'releasePending' | 'hashes' | 'cpu0' | 'overlapped'>): Migration {
    const rec: Migration = { ...m, seq: ++this.seq, pins: 0, releasePending: false, hashes: null, cpu0: processCpuSeconds(), overlapped: false };
    for (const x of this.inFlight()) x.overlapped = rec.overlapped = true;
    this.byId.set(rec.id, rec);
    if (rec.session) this.bySession.set(rec.session, rec);
    this.peak = Math.max(this.peak, this.inFlight().length);
    return rec;
  }

  /** Every channel of the migration's session closed. */
  detach(m: Migration): void {
    if (m.session) this.bySession.delete(m.session);
    m.session = null;
    this.forgetIfOver(m);
  }

  /** Free the migration's memory (and staging ring); its record goes once nothing of it is left to ask. */
  release(m: Migration): void {
    if (m.pins > 0) {
      m.releasePending = true;
      return;
    }
    m.sink.release();
    this.forgetIfOver(m);
  }

  /** A scratch migration's source released it: its VM's files go (a completed one's only). */
  discardScratch(m: Migration): void {
    if (!m.scratch || (m.state !== 'resumed' && m.state !== 'done')) return;
    let n = 0;
    for (const f of m.files) {
      const p = join(this.dir, f);
      if (existsSync(p)) n++;
      rmSync(p, { force: true });
    }
    this.log(`migration ${m.id} released: ${n} file(s) of its scratch VM removed`);
  }

  /** Keep the migration's memory while `work` reads it (a release meanwhile waits for it). */
  async pinned<T>(m: Migration, work: () => Promise<T>): Promise<T> {
    m.pins++;
    try {
      return await work();
    } finally {
      m.pins--;
      if (m.pins === 0 && m.releasePending) {
        m.releasePending = false;
        this.release(m);
      }
    }
  }

  /** Roll back: the sink is released and every file the marker lists is removed. */
  abort(m: Migration, why: string): void {
    m.state = 'aborted';
    m.sink.release();
    const n = this.removeListed(m.marker, m.vm);
    this.log(`migration ${m.id} aborted (${why}): ${n} file(s) removed`);
    this.forgetIfOver(m);
  }

  /**
   * A record stays while its session is open or its memory held (a resume, verify or release may still
   * name it); after that what is left to say is in the files (owner, status).
   */
  private forgetIfOver(m: Migration): void {
    if (m.session !== null || m.sink.ram !== null || m.hashes !== null) return;
    if (m.state === 'setup') return; // its session just closed: the caller aborts it
    if (this.byId.get(m.id) === m) this.byId.delete(m.id);
  }

  /** Files of VM `vm` in the directory (its marker included). */
  filesOf(vm: string): string[] {
    return readdirSync(this.dir).filter((f) => f === `${vm}.vmcx` || f.startsWith(`${vm}-`) || f === `${vm}.migrating`);
  }

  /** At start: remove what every interrupted migration left (the files its marker lists), nothing else. */
  sweep(): void {
    for (const name of readdirSync(this.dir)) {
      if (!name.endsWith('.migrating')) continue;
      const vm = name.slice(0, -'.migrating'.length);
      const n = this.removeListed(join(this.dir, name), vm);
      this.log(`removed ${n} file(s) of an interrupted migration (${name})`);
    }
  }

  /**
   * Delete a marker's files and the marker; returns how many existed. Only names of the marker's own VM
   * are honoured (a marker is written by this endpoint, but a damaged one must not remove another VM's files).
   */
  private removeListed(marker: string, vm: string): number {
    let files: unknown = [];
    try {
      files = (JSON.parse(readFileSync(marker, 'utf8')) as { files?: unknown }).files;
    } catch {
      /* an unreadable marker: remove just it */
    }
    let n = 0;
    for (const f of Array.isArray(files) ? files : []) {
      const own = typeof f === 'string' && (f === `${vm}.vmcx` || (f.startsWith(`${vm}-`) && /^-disk[0-9]+\.img$/.test(f.slice(vm.length))));
      if (!own) {
        this.log(`marker ${marker} lists ${JSON.stringify(f)}, not a file of ${vm}: left alone`);
        continue;
      }
      const p = join(this.dir, f as string);
      if (existsSync(p)) n++;
      rmSync(p, { force: true });
    }
    rmSync(marker, { force: true });
    return n;
  }
}
