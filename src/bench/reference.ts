// The reference workload: a fixed piece of single-threaded JavaScript whose wall time measures how fast
// this machine, at this moment, runs code like the simulator's. The bench runs it between the runs, in
// the same worker threads (runner.ts), and runs.csv divides each run's wall time by its median
// (`harness_wall_ratio`), so `compare` can judge wall time between machines of other speeds or core
// counts.
//
// It is deliberately NOT the simulator: a yardstick made of the code under test would slow down with it
// and hide the very slowdown it is meant to show. It is frozen: it imports nothing of migbench and must
// not change with it. It mixes what the simulator spends its time on: a binary-heap event queue of small
// objects and closures, dirty-bitmap words in typed arrays (set, scan, popcount), per-page versions of
// an 8 GiB guest (16 MiB of arrays, so it does not live in a core's own caches either), a seeded xorshift
// generator, Map lookups and floating-point arithmetic. Changing it changes every ratio: bump
// REFERENCE_VERSION, and `compare` will not judge ratios across versions (refresh the baseline).
// Version 1 (a 1 GiB guest's bitmap only, 32 KiB) fit in a core's cache: with two threads on this
// VM's two cores the simulator's CPU time per run grew 46% and version 1's only 25%, so the same code
// moved the ratio by +17%; version 2's moved it by -3.5% in the same comparison.

export const REFERENCE_VERSION = 2;

interface Ev {
  at: number;
  seq: number;
  run: () => void;
}

/** One pass of the workload (about 25-45 ms on this project's 2-core VM). Returns a checksum. */
export function referenceWorkload(): number {
  let x = 0x9e3779b9 | 0;
  const rand = (): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
  const heap: Ev[] = [];
  const push = (e: Ev): void => {
    heap.push(e);
    let i = heap.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const a = heap[p]!;
      if (a.at < e.at || (a.at === e.at && a.seq < e.seq)) break;
      heap[i] = a;
      i = p;
    }
    heap[i] = e;
  };
  const pop = (): Ev | undefined => {
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= heap.length) break;
        const r = l + 1;
        const c = r < heap.length && (heap[r]!.at < heap[l]!.at || (heap[r]!.at === heap[l]!.at && heap[r]!.seq < heap[l]!.seq)) ? r : l;
        if (heap[c]!.at > last.at || (heap[c]!.at === last.at && heap[c]!.seq > last.seq)) break;
        heap[i] = heap[c]!;
        i = c;
      }
      heap[i] = last;
    }
    return top;
  };

  // An 8 GiB guest in 4 KiB pages: a dirty bitmap (256 KiB), a version per page on each side (8 MiB
  // each), so that like the simulator's the workload does not live in a core's own caches, and a machine
  // whose threads share caches or a core slows it as it slows the simulator.
  const PAGES = 1 << 21;
  const dirty = new Uint32Array(PAGES / 32);
  const versions = new Uint32Array(PAGES);
  const copied = new Uint32Array(PAGES);
  const perChannel = new Map<number, number>();
  let now = 0;
  let seq = 0;
  let checksum = 0;
  let bytes = 0;

  const round = (): void => {
    // Sync: take the dirty words, count them, clear, and copy each dirty page's version across.
    let pages = 0;
    for (let w = 0; w < dirty.length; w++) {
      let v = dirty[w]!;
      if (v === 0) continue;
      dirty[w] = 0;
      for (let b = v; b !== 0; b &= b - 1) {
        const page = (w << 5) | (31 - Math.clz32(b & -b));
        copied[page] = versions[page]!;
      }
      v = v - ((v >>> 1) & 0x55555555);
      v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
      pages += (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
    }
    const channel = seq & 7;
    perChannel.set(channel, (perChannel.get(channel) ?? 0) + pages);
    bytes += pages * 4104;
    checksum = (checksum * 31 + pages) >>> 0;
  };

  // The guest writes at random (a hot tenth of memory takes most writes); rounds sync every 6 ms.
  for (let i = 0; i < 100; i++) push({ at: i * 0.006, seq: seq++, run: round });
  for (let i = 0; i < 25_000; i++) {
    const at = rand() * 0.6;
    const hot = rand() < 0.8;
    const page = hot ? Math.floor(rand() * (PAGES / 10)) : Math.floor(rand() * PAGES);
    push({
      at,
      seq: seq++,
      run: () => {
        versions[page]!++;
        dirty[page >>> 5]! |= 1 << (page & 31);
      },
    });
  }
  for (let e = pop(); e; e = pop()) {
    now = e.at;
    e.run();
  }
  for (let p = 0; p < PAGES; p += 4099) checksum = (checksum + copied[p]!) >>> 0;
  let total = 0;
  for (const v of perChannel.values()) total += v;
  return (checksum ^ total ^ Math.round(bytes / 1e3) ^ Math.round(now * 1e3)) >>> 0;
}
