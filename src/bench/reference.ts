// The reference workload: a fixed piece of single-threaded JavaScript whose wall time measures how fast
// this machine, at this moment, runs code like the simulator's. The bench runs it between the runs, in
// the same worker threads (runner.ts), and runs.csv divides each run's wall time by its median
// (`harness_wall_ratio`), so `compare` can judge wall time between machines of other speeds or core
// counts.
//
// It is deliberately NOT the simulator: a yardstick made of the code under test would slow down with it
// and hide the very slowdown it is meant to show. It is frozen: it imports nothing of migbench and must
// not change with it. It mixes what the simulator spends its time on: a binary-heap event queue of small
// objects and closures, dirty-bitmap words in typed arrays (set, scan, popcount), a seeded xorshift
// generator, Map lookups and floating-point arithmetic. Changing it changes every ratio: bump
// REFERENCE_VERSION, and `compare` will not judge ratios across versions (refresh the baseline).

export const REFERENCE_VERSION = 1;

interface Ev {
  at: number;
  seq: number;
  run: () => void;
}

/** One pass of the workload (about 15-30 ms on this project's 2-core VM). Returns a checksum. */
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

  const PAGES = 1 << 18; // a 1 GiB guest in 4 KiB pages
  const dirty = new Uint32Array(PAGES / 32);
  const sent = new Uint32Array(PAGES / 32);
  const perChannel = new Map<number, number>();
  let now = 0;
  let seq = 0;
  let checksum = 0;
  let bytes = 0;

  const round = (): void => {
    // Sync: take the dirty words, count them, clear.
    let pages = 0;
    for (let w = 0; w < dirty.length; w++) {
      let v = dirty[w]!;
      sent[w] = v;
      dirty[w] = 0;
      v = v - ((v >>> 1) & 0x55555555);
      v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
      pages += (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
    }
    const channel = seq & 7;
    perChannel.set(channel, (perChannel.get(channel) ?? 0) + pages);
    bytes += pages * 4104;
    checksum = (checksum * 31 + pages) >>> 0;
  };

  // The guest writes at random (a hot tenth of memory takes most writes); rounds sync every 2 ms.
  for (let i = 0; i < 300; i++) push({ at: i * 0.002, seq: seq++, run: round });
  for (let i = 0; i < 25_000; i++) {
    const at = rand() * 0.6;
    const hot = rand() < 0.8;
    const page = hot ? Math.floor(rand() * (PAGES / 10)) : Math.floor(rand() * PAGES);
    push({ at, seq: seq++, run: () => (dirty[page >>> 5]! |= 1 << (page & 31)) });
  }
  for (let e = pop(); e; e = pop()) {
    now = e.at;
    e.run();
  }
  let total = 0;
  for (const v of perChannel.values()) total += v;
  return (checksum ^ total ^ Math.round(bytes / 1e3) ^ Math.round(now * 1e3)) >>> 0;
}
