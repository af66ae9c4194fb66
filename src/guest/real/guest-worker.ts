// The real guest: a worker thread that writes to its RAM following a workload's regions and rates, and
// marks each written page in the shared dirty bitmap after writing it (as a hypervisor's dirty log sees
// a guest write). The writes follow GuestWriter's deterministic sequence; `writes` counts them exactly
// once the guest is paused, so the RAM can be checked against a replay (writer.ts). It checks the
// control block every millisecond: pause (acknowledged, then it waits), throttle, stop.

import { parentPort, workerData } from 'node:worker_threads';
import { PAGE_SIZE } from '../../units/index.js';
import { ownThreadCpuSeconds, ownThreadId } from './thread-cpu.js';
import { GuestWriter } from './writer.js';
import { CTL, GuestRam, PAUSED, PAUSE_REQUESTED, RUN, STOPPED, STOP_REQUESTED, type RamDescriptor } from './ram.js';

export interface GuestWorkerData {
  ram: RamDescriptor;
  regions: { start: number; count: number; rate: number }[];
  seed: number;
}

const data = workerData as GuestWorkerData;
const ram = GuestRam.attach(data.ram);
const ctl = ram.control;
const writer = new GuestWriter(data.regions, data.seed);
const total = writer.rate;
const words = ram.segments.map((s) => new Uint32Array(s));
const pagesPerSegment = GuestRam.pagesPerSegment;
const WORDS_PER_PAGE = PAGE_SIZE / 4;

function writeOne(): void {
  writer.next();
  const p = writer.page;
  words[Math.floor(p / pagesPerSegment)]![(p % pagesPerSegment) * WORDS_PER_PAGE + writer.word] = writer.value;
  ram.markDirty(p); // after the write: a sync that clears the bit before this point sees the write next time
}

Atomics.store(ctl, CTL.started, 1);
parentPort?.postMessage({ started: true, tid: ownThreadId() });
let last = performance.now();
let owed = 0;
for (;;) {
  const state = Atomics.load(ctl, CTL.state);
  if (state === PAUSE_REQUESTED) {
    Atomics.store(ctl, CTL.state, PAUSED);
    Atomics.notify(ctl, CTL.state);
    continue;
  }
  if (state === PAUSED) {
    Atomics.wait(ctl, CTL.state, PAUSED, 50);
    last = performance.now();
    owed = 0;
    continue;
  }
  if (state >= STOP_REQUESTED) break;
  const now = performance.now();
  const speed = 1 - Atomics.load(ctl, CTL.throttle) / 100;
  owed += (total * speed * (now - last)) / 1000;
  last = now;
  const n = Math.floor(owed);
  owed -= n;
  for (let k = 0; k < n; k++) writeOne();
  if (n > 0) Atomics.add(ctl, CTL.writes, n);
  Atomics.wait(ctl, CTL.state, RUN, 1);
}
// Its own CPU, for the driver to leave out of the migration's (this thread ends right after).
const cpu = ownThreadCpuSeconds();
Atomics.store(ctl, CTL.cpuMsAtStop, cpu === null ? -1 : Math.min(2 ** 31 - 1, Math.round(cpu * 1000)));
Atomics.store(ctl, CTL.state, STOPPED);
Atomics.notify(ctl, CTL.state);
