// The guest's storage IO on the source: a worker thread that issues the workload's writes (size, rate,
// locality; DiskIoSequence) to the source image, routed as the storage mirror says (disk-shared.ts):
// source only, held until the segment being copied lands, or mirrored (written to the source, then sent
// to the destination; the write completes only when the destination acknowledged it). At most
// QUEUE_DEPTH writes are in flight, never two overlapping ones. Pausing drains the writes in flight, so
// a paused writer's count is exact (the replay check in disk.ts relies on it).

import { closeSync, openSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { ownThreadId } from '../../guest/real/thread-cpu.js';
import { DiskIoSequence, fillWrite, REGION_BYTES, writeAll, type DiskWrite } from '../../guest/real/disk.js';
import { MIRROR_OFF, PAUSED, PAUSE_REQUESTED, QUEUE_DEPTH, routeOf, RUN, STOPPED, W, type DiskWorkerData, type ToMain, type ToWorker } from './disk-shared.js';

const data = workerData as DiskWorkerData;
const s = new Int32Array(data.shared);
const mirroredBytes = new Float64Array(data.bytes);
const seq = new DiskIoSequence(data.spec);
const fd = openSync(data.path, 'r+');
const scratch = Buffer.allocUnsafe(seq.ioSize);
const port = parentPort!;
const post = (m: ToMain, transfer?: ArrayBuffer[]) => port.postMessage(m, transfer ?? []);

interface InFlight {
  w: DiskWrite;
  done: Promise<void>;
}
const inflight = new Map<number, InFlight>();
const waiting = new Map<number, (ok: boolean) => void>();
let nextId = 1;

port.on('message', (m: ToWorker) => {
  if (m.type !== 'mirrored') return;
  const r = waiting.get(m.id);
  waiting.delete(m.id);
  r?.(m.ok);
});

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const overlaps = (a: DiskWrite, b: DiskWrite) => a.offset < b.offset + b.length && b.offset < a.offset + a.length;

async function anyDone(): Promise<void> {
  await Promise.race([...inflight.values()].map((f) => f.done));
}

async function drain(): Promise<void> {
  await Promise.all([...inflight.values()].map((f) => f.done));
}

function freeSlot(): number {
  for (let i = 0; i < QUEUE_DEPTH; i++) if (Atomics.load(s, W.slots + i) === 0) return i;
  throw new Error('no free IO slot');
}

/** Issue one write; resolves once it is issued (a mirrored one completes later). */
async function issue(): Promise<void> {
  const w = seq.next();
  while ([...inflight.values()].some((f) => overlaps(f.w, w)) || inflight.size >= QUEUE_DEPTH) await anyDone();
  const region = Math.floor(w.offset / REGION_BYTES);
  let held = false;
  for (;;) {
    const route = routeOf(s, region);
    if (route === 'hold') {
      if (!held) Atomics.add(s, W.held, 1);
      held = true;
      // Wait for the segment's copy to land (the driver notifies `copied`), or for the mirror to stop.
      const copied = Atomics.load(s, W.copied);
      if (region >= copied && Atomics.load(s, W.mirror) !== MIRROR_OFF) await waitAsync(W.copied, copied, 5);
      continue;
    }
    if (route === 'source') {
      const slot = freeSlot();
      Atomics.store(s, W.slots + slot, region + 1);
      if (routeOf(s, region) !== 'source') {
        Atomics.store(s, W.slots + slot, 0);
        continue; // the segment went in flight meanwhile: hold or mirror instead
      }
      fillWrite(scratch, w);
      writeAll(fd, scratch.subarray(0, w.length), w.offset);
      Atomics.store(s, W.slots + slot, 0);
      Atomics.add(s, W.writes, 1);
      return;
    }
    if (route === 'destination') throw new Error('the guest wrote after the switch to the destination');
    // Mirrored: the source now, the destination through the driver; complete when both have it.
    const ab = new ArrayBuffer(w.length);
    const buf = Buffer.from(ab);
    fillWrite(buf, w);
    writeAll(fd, buf, w.offset);
    const id = nextId++;
    const done = new Promise<void>((resolve) => {
      waiting.set(id, (ok) => {
        inflight.delete(id);
        if (ok) {
          Atomics.add(s, W.mirrored, 1);
          mirroredBytes[0] = mirroredBytes[0]! + w.length;
        } else Atomics.add(s, W.mirrorFailed, 1);
        Atomics.add(s, W.writes, 1);
        resolve();
      });
    });
    inflight.set(id, { w, done });
    post({ type: 'mirror', id, offset: w.offset, data: ab }, [ab]);
    return;
  }
}

type WaitAsync = (a: Int32Array, index: number, value: number, timeout?: number) => { async: boolean; value: Promise<string> | string };
const wa = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;
async function waitAsync(index: number, value: number, ms: number): Promise<void> {
  const r = wa(s, index, value, ms);
  if (r.async) await r.value;
}

async function main(): Promise<void> {
  const iops = data.spec.io.writeIops;
  post({ type: 'started', tid: ownThreadId() });
  let last = performance.now();
  let owed = 0;
  for (;;) {
    const state = Atomics.load(s, W.state);
    if (state === PAUSE_REQUESTED) {
      await drain();
      Atomics.store(s, W.state, PAUSED);
      Atomics.notify(s, W.state);
      continue;
    }
    if (state === PAUSED) {
      await waitAsync(W.state, PAUSED, 50);
      last = performance.now();
      owed = 0;
      continue;
    }
    if (state !== RUN) break;
    const now = performance.now();
    owed += (iops * (now - last)) / 1000;
    last = now;
    // Bounded catch-up: a writer that fell behind (held writes, a slow mirror) does not burst.
    if (owed > iops) owed = iops;
    while (owed >= 1 && Atomics.load(s, W.state) === RUN) {
      owed--;
      await issue();
    }
    await sleep(1);
  }
  await drain();
  closeSync(fd);
  Atomics.store(s, W.state, STOPPED);
  Atomics.notify(s, W.state);
}

main().catch((e: Error) => {
  post({ type: 'error', message: e.message });
  Atomics.store(s, W.state, STOPPED);
  Atomics.notify(s, W.state);
});
