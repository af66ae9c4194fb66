// CRC-32C on worker threads, for payloads in shared memory. The sender's main thread is busy with
// socket writes; computing each frame's CRC on another thread lets the two overlap. Only payloads backed
// by a SharedArrayBuffer can be handed over without a copy (a copy would cost as much as the CRC), so
// the sender falls back to an inline CRC for anything else.

import { Worker } from 'node:worker_threads';
import { CRC_MODULE_PATH } from './crc.js';

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { crc32c } = require(workerData.crcPath);
const views = new Map();
parentPort.on('message', (m) => {
  if (m.sab) { views.set(m.buf, Buffer.from(m.sab)); return; }
  const v = views.get(m.buf);
  parentPort.postMessage([m.id, crc32c(v.subarray(m.off, m.off + m.len)) >>> 0]);
});
`;

export class CrcPool {
  private readonly workers: Worker[] = [];
  private readonly known = new WeakMap<SharedArrayBuffer, number>();
  private readonly pending = new Map<number, (crc: number) => void>();
  private nextBuf = 0;
  private nextId = 0;
  private rr = 0;

  constructor(threads = 1) {
    for (let i = 0; i < threads; i++) {
      const w = new Worker(WORKER, { eval: true, workerData: { crcPath: CRC_MODULE_PATH } });
      w.on('message', ([id, crc]: [number, number]) => {
        const cb = this.pending.get(id);
        this.pending.delete(id);
        cb?.(crc);
      });
      w.unref();
      this.workers.push(w);
    }
  }

  /** True when `b` lives in shared memory and can be checksummed off the main thread. */
  static shareable(b: Uint8Array): boolean {
    return typeof SharedArrayBuffer !== 'undefined' && b.buffer instanceof SharedArrayBuffer;
  }

  /** CRC-32C of a SharedArrayBuffer-backed view, computed on a worker. */
  crc(b: Uint8Array, done: (crc: number) => void): void {
    const sab = b.buffer as SharedArrayBuffer;
    let buf = this.known.get(sab);
    if (buf === undefined) {
      buf = this.nextBuf++;
      this.known.set(sab, buf);
      for (const w of this.workers) w.postMessage({ buf, sab });
    }
    const id = this.nextId++;
    this.pending.set(id, done);
    this.workers[this.rr++ % this.workers.length]!.postMessage({ buf, id, off: b.byteOffset, len: b.byteLength });
  }

  close(): void {
    for (const w of this.workers) void w.terminate();
    this.workers.length = 0;
  }
}
