// The destination's sink for one session: the stream's areas (protocol.ts) written where they belong:
// guest memory, the disk image (synchronous positional writes; a failure is reported once and the writes
// stop), the staging ring whose page packets are applied to memory once their chunk passed its CRC, and
// the device state. A probe session writes into a ring instead, and applies its page packets to that ring
// (so the probe of scattered pages includes the destination's unpacking, which the blackout waits for).

import { closeSync } from 'node:fs';
import { writeAll } from '../../guest/real/disk.js';
import { ProtocolError } from '../../transport/tcp/frame.js';
import { Coverage, MemorySink, type Sink } from '../../transport/tcp/sinks.js';
import { PAGE_SIZE } from '../../units/index.js';
import { PACKET_HEADER, PACKET_MAGIC, PACKET_PAGES, STAGING_BYTES } from './protocol.js';

/** A probe session's data lands in a ring of this size (touched before the probe starts). */
export const PROBE_RING = 64 * 2 ** 20;

/** Where a session's data goes: guest memory then the disk image (migrate), a ring (probe), nowhere yet. */
export class MigrationSink implements Sink {
  readonly kind = 'memory';
  readonly sync = true;
  mode: 'unset' | 'migrate' | 'probe' | 'released' = 'unset';
  ram: MemorySink | null = null;
  ramBytes = 0;
  diskFd: number | null = null;
  diskBytes = 0;
  readonly diskCoverage = new Coverage();
  ring: Buffer | null = null;
  /** Page packets (protocol.ts): the staging ring at [stagingBase, stagingBase + STAGING_BYTES). */
  stagingBase = Number.POSITIVE_INFINITY;
  staging: Buffer | null = null;
  packetsApplied = 0;
  /** The device state: [stateBase, stateBase + state.length). */
  stateBase = Number.POSITIVE_INFINITY;
  state: Buffer | null = null;
  readonly stateCoverage = new Coverage();
  failWrites = false;
  storageError: string | null = null;
  onStorageError: (message: string) => void = () => undefined;

  /** A probe session: its data goes to the ring, the last STAGING_BYTES of its stream are page packets. */
  startProbe(streamBytes: number): void {
    this.mode = 'probe';
    this.ring = Buffer.alloc(PROBE_RING, 1);
    this.stagingBase = streamBytes - STAGING_BYTES;
    this.staging = Buffer.alloc(STAGING_BYTES, 1); // touched now, as the migration's ring is
  }

  writePiece(offset: number, piece: Buffer): void {
    if (this.mode === 'probe') {
      if (offset >= this.stagingBase) return void this.staging!.set(piece, offset - this.stagingBase);
      for (let done = 0; done < piece.length; ) {
        const at = (offset + done) % PROBE_RING;
        const n = Math.min(piece.length - done, PROBE_RING - at);
        this.ring!.set(piece.subarray(done, done + n), at);
        done += n;
      }
      return;
    }
    if (this.mode !== 'migrate') throw new ProtocolError('unexpected', this.mode === 'released' ? 'data for a migration that has ended' : 'data before the migration was configured');
    // One chunk never spans two areas of the stream: memory, disk, staging ring, device state.
    const end = offset + piece.length;
    if (end <= this.ramBytes) return this.ram!.writePiece(offset, piece);
    if (offset >= this.stateBase) {
      this.state!.set(piece, offset - this.stateBase);
      this.stateCoverage.add(offset - this.stateBase, end - this.stateBase);
      return;
    }
    if (offset >= this.stagingBase && end <= this.stateBase) {
      // The ring went back to the endpoint when the VM resumed (another migration may use it now).
      if (!this.staging) throw new ProtocolError('unexpected', 'a page packet after the VM resumed');
      return void this.staging.set(piece, offset - this.stagingBase);
    }
    if (offset < this.ramBytes || end > this.stagingBase) throw new ProtocolError('out-of-range', `a piece [${offset}, ${end}) spans two areas of the migration stream`);
    if (this.diskFd === null || this.storageError !== null) return;
    const at = offset - this.ramBytes;
    try {
      if (this.failWrites) throw new Error('EIO: the destination storage failed the write (injected dest-storage-error)');
      writeAll(this.diskFd, piece, at);
      this.diskCoverage.add(at, at + piece.length);
    } catch (e) {
      this.storageError = (e as Error).message;
      this.onStorageError(this.storageError);
    }
  }

  /** A chunk arrived whole with a good CRC: a page packet in the staging ring is applied to memory now. */
  chunkWritten(offset: number, length: number): void {
    if (offset < this.stagingBase || offset >= this.stateBase || (this.mode !== 'migrate' && this.mode !== 'probe')) return;
    const at = offset - this.stagingBase;
    const st = this.staging;
    if (!st) throw new ProtocolError('unexpected', 'a page packet after the VM resumed');
    const count = st.readUInt32LE(at + 4);
    if (st.readUInt32LE(at) !== PACKET_MAGIC || length !== PACKET_HEADER + count * PAGE_SIZE || count > PACKET_PAGES) {
      throw new ProtocolError('bad-field', `bad page packet at staging offset ${at} (${length} bytes)`);
    }
    // A probe's pages are those of a scratch memory below its staging area; they land in the ring.
    const probe = this.mode === 'probe';
    const pages = (probe ? this.stagingBase : this.ramBytes) / PAGE_SIZE;
    for (let i = 0; i < count; i++) {
      const p = st.readUInt32LE(at + 16 + i * 4);
      if (p >= pages) throw new ProtocolError('out-of-range', `page packet names page ${p} of ${pages}`);
      const src = st.subarray(at + PACKET_HEADER + i * PAGE_SIZE, at + PACKET_HEADER + (i + 1) * PAGE_SIZE);
      if (probe) this.ring!.set(src, (p * PAGE_SIZE) % PROBE_RING);
      else this.ram!.writePiece(p * PAGE_SIZE, src);
    }
    this.packetsApplied++;
  }

  writeOwned(): Promise<void> {
    return Promise.reject(new ProtocolError('unexpected', 'migration sink is synchronous'));
  }
  async digest(): Promise<null> {
    return null;
  }
  async finish(): Promise<void> {}

  /** Gives the migration's memory and staging ring back to the endpoint (called once, by release()). */
  onRelease: () => void = () => undefined;

  /** The VM resumed: no page packet may come any more; the staging ring goes back (returned). */
  dropStaging(): Buffer | null {
    const st = this.staging;
    this.staging = null;
    return st;
  }

  release(): void {
    if (this.mode === 'released') return;
    this.onRelease();
    if (this.diskFd !== null) closeSync(this.diskFd);
    this.diskFd = null;
    // A late chunk of this session is refused (a typed error), never written to buffers now reused.
    this.mode = 'released';
    this.ram = null;
    this.ring = null;
    this.staging = null;
    this.state = null;
  }
}
