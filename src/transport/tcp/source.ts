// Synthetic stream content for `migbench send --size` and the benchmark: a pseudo-random pattern (AES-CTR
// keystream of a seed) whose period is not a multiple of any power-of-two chunk size, so a chunk written
// at a wrong offset changes the stream's SHA-256. Views are zero-copy slices of one buffer.

import { createCipheriv, createHash } from 'node:crypto';

export class PatternSource {
  readonly period: number;
  /** Two periods back to back, in shared memory (so a worker can hash the stream without a copy). */
  readonly buf: Buffer;

  constructor(seed = 1, period = 4 * 2 ** 20 + 4099) {
    this.period = period;
    const key = createHash('sha256').update(`migbench pattern ${seed}`).digest().subarray(0, 16);
    const c = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
    const half = c.update(Buffer.alloc(period));
    this.buf = Buffer.from(new SharedArrayBuffer(2 * period));
    half.copy(this.buf, 0);
    half.copy(this.buf, period);
  }

  /** The stream's bytes [offset, offset + length), length <= period, without copying. */
  view(offset: number, length: number): Buffer {
    if (length > this.period) throw new RangeError(`pattern view of ${length} bytes exceeds the period ${this.period}`);
    const at = offset % this.period;
    return this.buf.subarray(at, at + length);
  }

  /** SHA-256 of the stream's first `size` bytes. */
  sha256(size: number, block = 4 * 2 ** 20): Buffer {
    const h = createHash('sha256');
    for (let off = 0; off < size; off += block) h.update(this.view(off, Math.min(block, size - off)));
    return h.digest();
  }
}

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const h = createHash('sha256');
const { kind, size, block } = workerData;
if (kind === 'pattern') {
  const buf = Buffer.from(workerData.sab);
  const period = workerData.period;
  for (let off = 0; off < size; off += block) {
    const at = off % period;
    h.update(buf.subarray(at, at + Math.min(block, size - off)));
  }
} else {
  const fd = fs.openSync(workerData.path, 'r');
  const buf = Buffer.allocUnsafe(block);
  for (let off = 0; off < size; ) {
    const n = fs.readSync(fd, buf, 0, Math.min(block, size - off), off);
    if (n <= 0) throw new Error('file shrank while hashing');
    h.update(buf.subarray(0, n));
    off += n;
  }
  fs.closeSync(fd);
}
parentPort.postMessage(h.digest());
`;

/** SHA-256 of a pattern stream's first `size` bytes, or of a file's, computed on a worker thread (the
 * sender's main thread is busy with CRCs and socket writes). `signal` stops the worker (the transfer
 * failed: nobody needs the hash) and rejects. */
export async function sha256InWorker(src: { pattern: PatternSource } | { path: string }, size: number, signal?: AbortSignal): Promise<Buffer> {
  const { Worker } = await import('node:worker_threads');
  signal?.throwIfAborted();
  const data =
    'pattern' in src
      ? { kind: 'pattern', sab: src.pattern.buf.buffer, period: src.pattern.period, size, block: 4 * 2 ** 20 }
      : { kind: 'file', path: src.path, size, block: 4 * 2 ** 20 };
  const w = new Worker(WORKER, { eval: true, workerData: data });
  let onAbort: (() => void) | undefined;
  try {
    return await new Promise<Buffer>((resolve, reject) => {
      w.once('message', (d: Uint8Array) => resolve(Buffer.from(d)));
      w.once('error', reject);
      w.once('exit', (code) => reject(new Error(`hash worker exited with code ${code}`)));
      onAbort = () => reject(new Error('hashing stopped: the transfer failed'));
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  } finally {
    if (onAbort) signal?.removeEventListener('abort', onAbort);
    void w.terminate();
  }
}
