// Where a receiver puts the bytes: memory (Buffers or a SharedArrayBuffer, segmented past 1 GiB),
// a file (positional writes into a temporary file, renamed into place only after a verified commit),
// or nowhere (discard, for benchmarks). Plus the coverage set that tells whether every byte arrived.

import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { MigbenchError } from '../../errors.js';

export interface Sink {
  readonly kind: 'memory' | 'file' | 'discard';
  /** Synchronous sinks copy each piece during the call; asynchronous ones take owned buffers. */
  readonly sync: boolean;
  /** Copy `piece` (valid only during the call) to [offset, offset + piece.length). Sync sinks only. */
  writePiece(offset: number, piece: Buffer): void;
  /** Write an owned buffer at `offset`; resolves once written. Async sinks only. */
  writeOwned(offset: number, data: Buffer): Promise<void>;
  /** SHA-256 of bytes [0, size), or null when the sink keeps no data. */
  digest(size: number): Promise<Buffer | null>;
  /** Finish: keep the result (`ok`) or throw away a partial one. */
  finish(ok: boolean): Promise<void>;
  /**
   * Optional, synchronous sinks: a whole DATA chunk [offset, offset + length) was written and its CRC
   * checked; called before the chunk is acknowledged (a sink that interprets chunks, such as the real
   * migration's page packets, acts here rather than on pieces whose checksum is not yet known).
   */
  chunkWritten?(offset: number, length: number): void;
}

/** Guest-memory-like destination: a declared size, segmented in 1 GiB pieces. */
export class MemorySink implements Sink {
  readonly kind = 'memory';
  readonly sync = true;
  readonly segments: Uint8Array[];
  readonly size: number;
  /** Bytes per segment (1 GiB; smaller only in tests). */
  readonly segmentSize: number;

  /** `shared`: back the memory with SharedArrayBuffers (so worker threads can read it). `prefault`: touch
   * every page now (a destination host reserves the VM's memory before a migration starts; in a VM
   * first-touch page faults otherwise dominate the copy). */
  constructor(size: number, opts: { shared?: boolean; segments?: Uint8Array[]; prefault?: boolean; segmentSize?: number } = {}) {
    this.size = size;
    const SEGMENT = (this.segmentSize = opts.segmentSize ?? 2 ** 30);
    if (opts.segments) {
      const total = opts.segments.reduce((t, s) => t + s.length, 0);
      if (total < size) throw new MigbenchError('E_STATE', `memory sink: ${total} bytes given for a ${size}-byte stream`);
      if (opts.segments.some((s, i) => i < opts.segments!.length - 1 && s.length !== SEGMENT) && opts.segments.length > 1) {
        throw new MigbenchError('E_STATE', 'memory sink: every segment but the last must be segmentSize bytes');
      }
      this.segments = opts.segments;
    } else {
      this.segments = [];
      for (let at = 0; at < size || (size === 0 && this.segments.length === 0); at += SEGMENT) {
        const n = Math.min(SEGMENT, size - at);
        this.segments.push(opts.shared ? new Uint8Array(new SharedArrayBuffer(n)) : Buffer.alloc(n));
        if (size === 0) break;
      }
    }
    if (opts.prefault) for (const seg of this.segments) seg.fill(0);
  }

  /**
   * Touch every page now, in slices, yielding to the event loop between them: a receiver preparing a
   * large session keeps serving the others (touching 8 GiB takes seconds here). Resolves when done.
   */
  async prefault(slice = 64 * 2 ** 20): Promise<void> {
    for (const seg of this.segments) {
      for (let at = 0; at < seg.length; at += slice) {
        seg.fill(0, at, Math.min(seg.length, at + slice));
        await new Promise<void>((r) => setImmediate(r));
      }
    }
  }

  writePiece(offset: number, piece: Buffer): void {
    const SEGMENT = this.segmentSize;
    let src = 0;
    while (src < piece.length) {
      const seg = Math.floor((offset + src) / SEGMENT);
      const at = (offset + src) % SEGMENT;
      const n = Math.min(piece.length - src, SEGMENT - at);
      this.segments[seg]!.set(src === 0 && n === piece.length ? piece : piece.subarray(src, src + n), at);
      src += n;
    }
  }

  writeOwned(): Promise<void> {
    return Promise.reject(new MigbenchError('E_STATE', 'memory sink is synchronous'));
  }

  /** A copy of [offset, offset + length). */
  read(offset: number, length: number): Buffer {
    const SEGMENT = this.segmentSize;
    const out = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const seg = Math.floor((offset + done) / SEGMENT);
      const at = (offset + done) % SEGMENT;
      const n = Math.min(length - done, SEGMENT - at);
      out.set(this.segments[seg]!.subarray(at, at + n), done);
      done += n;
    }
    return out;
  }

  async digest(size: number): Promise<Buffer> {
    const h = createHash('sha256');
    let left = size;
    for (const s of this.segments) {
      if (left <= 0) break;
      const n = Math.min(left, s.length);
      // Hash in 64 MiB slices and yield between them so one big digest does not starve other sessions.
      for (let at = 0; at < n; at += 64 * 2 ** 20) {
        h.update(s.subarray(at, Math.min(n, at + 64 * 2 ** 20)));
        await new Promise<void>((r) => setImmediate(r));
      }
      left -= n;
    }
    return h.digest();
  }

  async finish(): Promise<void> {}
}

export class DiscardSink implements Sink {
  readonly kind = 'discard';
  readonly sync = true;
  writePiece(): void {}
  writeOwned(): Promise<void> {
    return Promise.resolve();
  }
  async digest(): Promise<null> {
    return null;
  }
  async finish(): Promise<void> {}
}

/**
 * Positional writes into `path + ".tmp-<pid>-XXXXXXXX"`; renamed to `path` by finish(true), removed by
 * finish(false) and when keeping it fails (fsync, rename). The writer's pid in the name lets a later run
 * tell a crashed writer's leftovers (staleTemps) from a live one's.
 */
export class FileSink implements Sink {
  readonly kind = 'file';
  readonly sync = false;
  private finished = false;
  private constructor(
    readonly path: string,
    readonly tmpPath: string,
    private readonly fh: FileHandle,
  ) {}

  static async create(path: string, size: number): Promise<FileSink> {
    const tmp = `${path}${TMP_MARK}${process.pid}-${randomBytes(4).toString('hex')}`;
    let fh: FileHandle;
    try {
      fh = await open(tmp, 'wx+', 0o600);
    } catch (e) {
      throw new MigbenchError('E_IO', `cannot create ${tmp}: ${(e as Error).message}`, { cause: e });
    }
    try {
      await fh.truncate(size);
    } catch (e) {
      await fh.close().catch(() => undefined);
      await unlink(tmp).catch(() => undefined);
      throw new MigbenchError('E_IO', `cannot size ${tmp} to ${size} bytes: ${(e as Error).message}`, { cause: e });
    }
    return new FileSink(path, tmp, fh);
  }

  writePiece(): void {
    throw new MigbenchError('E_STATE', 'file sink is asynchronous');
  }

  async writeOwned(offset: number, data: Buffer): Promise<void> {
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await this.fh.write(data, done, data.length - done, offset + done);
      if (bytesWritten <= 0) throw new MigbenchError('E_IO', `short write to ${this.tmpPath}`);
      done += bytesWritten;
    }
  }

  async digest(size: number): Promise<Buffer> {
    const h = createHash('sha256');
    const buf = Buffer.allocUnsafe(4 * 2 ** 20);
    for (let at = 0; at < size; ) {
      const { bytesRead } = await this.fh.read(buf, 0, Math.min(buf.length, size - at), at);
      if (bytesRead <= 0) throw new MigbenchError('E_IO', `${this.tmpPath} ended at ${at} of ${size} bytes`);
      h.update(buf.subarray(0, bytesRead));
      at += bytesRead;
    }
    return h.digest();
  }

  async finish(ok: boolean): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    let err: unknown;
    try {
      if (ok) await this.fh.sync();
    } catch (e) {
      err = e;
    }
    await this.fh.close().catch(() => undefined);
    if (ok && err === undefined) {
      try {
        await rename(this.tmpPath, this.path);
        return;
      } catch (e) {
        err = e;
      }
    }
    // Not kept (or keeping it failed): nothing half-written stays behind.
    await unlink(this.tmpPath).catch(() => undefined);
    if (err !== undefined) throw new MigbenchError('E_IO', `cannot keep ${this.path}: ${(err as Error).message}`, { cause: err });
  }
}

/** What FileSink puts between the target's name and the writer's pid in its temporary file's name. */
export const TMP_MARK = '.tmp-';

/**
 * Temporary files FileSink left for targets in `dir` (those named `<name>.tmp-<pid>-<hex>`, `names`
 * limiting the targets when given), split into those of writers no longer running (safe to remove) and
 * those of a live process (another `serve` writing there now).
 */
export function staleTemps(dir: string, names?: readonly string[]): { stale: string[]; live: string[] } {
  const stale: string[] = [];
  const live: string[] = [];
  for (const f of readdirSync(dir)) {
    const m = /^(.*)\.tmp-(\d+)-[0-9a-f]{8}$/.exec(f);
    if (!m || (names && !names.includes(m[1]!))) continue;
    (pidAlive(Number(m[2])) ? live : stale).push(join(dir, f));
  }
  return { stale, live };
}

function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Disjoint sorted byte ranges received so far (few ranges: chunks arrive nearly in order). */
export class Coverage {
  private starts: number[] = [];
  private ends: number[] = [];

  add(start: number, end: number): void {
    if (end <= start) return;
    // First range whose end >= start (it may touch or overlap).
    let lo = 0;
    let hi = this.ends.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.ends[mid]! < start) lo = mid + 1;
      else hi = mid;
    }
    let i = lo;
    let s = start;
    let e = end;
    let j = i;
    while (j < this.starts.length && this.starts[j]! <= e) {
      s = Math.min(s, this.starts[j]!);
      e = Math.max(e, this.ends[j]!);
      j++;
    }
    this.starts.splice(i, j - i, s);
    this.ends.splice(i, j - i, e);
  }

  /** Bytes of [0, size) covered. */
  covered(size: number): number {
    let t = 0;
    for (let i = 0; i < this.starts.length; i++) t += Math.max(0, Math.min(this.ends[i]!, size) - this.starts[i]!);
    return t;
  }

  get ranges(): number {
    return this.starts.length;
  }
}
