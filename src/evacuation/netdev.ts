// What the kernel says each network interface of this host carried during a real evacuation: its byte
// counters (/sys/class/net/IF/statistics/{tx,rx}_bytes, Linux) read every `interval` while the drain runs,
// then turned into the simulated evacuation's `links` and `timeline` (same names: source/IF/tx|rx). The
// counters hold everything the interface carried (the migrations' payload, TCP/IP headers, acknowledgements
// and anything else the host sent), so only interfaces that carried at least `minBytes` are reported.
//
// A link's capacity is the lowest the kernel knows for it: the interface's speed (/sys/.../speed: a NIC's
// negotiated rate, 10 Gbit/s for a veth) and the rate of a `tc tbf` root qdisc on it; loopback has neither,
// so its utilisation is null and only its throughput is reported. Only this host's interfaces are read:
// with a remote destination (`--to`) its side is not seen.

import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { LinkUse, LinkSample } from './types.js';

/** At most this many timeline slices (a longer drain gets longer slices). */
const MAX_SLICES = 1024;

export interface NetdevOptions {
  /** Seconds between two reads of the counters (default 0.05; 0: only at start, stop and `poll()`). */
  interval?: number;
  /** Milliseconds now (default performance.now; a test drives its own). */
  now?: () => number;
  /** Where the interfaces are (default /sys/class/net; a test points it elsewhere). */
  root?: string;
  /** An interface's capacity in bits/s (default: speed and tc tbf, see above; null: unknown). */
  capacity?: (ifname: string) => number | null;
  /** Name prefix of every link (default `source`). */
  host?: string;
}

interface Read {
  t: number;
  /** Per counter (`IF/tx`, `IF/rx`): bytes so far. */
  bytes: Map<string, number>;
}

/** Reads the counters from `start()` until `finish()`; null where the kernel has no such counters. */
export class NetdevSampler {
  private readonly reads: Read[] = [];
  private timer: ReturnType<typeof setInterval> | null = null;
  private running = false;
  private t0 = 0;
  private readonly clock: () => number;
  private readonly root: string;
  private readonly interval: number;

  private constructor(private readonly o: NetdevOptions) {
    this.root = o.root ?? '/sys/class/net';
    this.interval = o.interval ?? 0.05;
    this.clock = o.now ?? (() => performance.now());
  }

  /** A sampler for this host, or null when it has no readable interface counters (not Linux). */
  static forHost(o: NetdevOptions = {}): NetdevSampler | null {
    const s = new NetdevSampler(o);
    return s.read().size > 0 ? s : null;
  }

  /** Time 0 is now; reads every `interval` from here on. */
  start(): void {
    this.t0 = this.clock();
    this.reads.length = 0;
    this.poll();
    this.running = true;
    if (this.interval > 0) {
      this.timer = setInterval(() => this.poll(), this.interval * 1000);
      this.timer.unref();
    }
  }

  /** Read the counters now (the timer does it every `interval`). */
  poll(): void {
    this.reads.push({ t: (this.clock() - this.t0) / 1000, bytes: this.read() });
  }

  /** Stop reading (one last read now). */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.poll();
  }

  /** The links that carried at least `minBytes` over `[0, end_s]` (seconds since start), and their timeline. */
  summary(end_s: number, minBytes: number): { links: LinkUse[]; timeline: { interval_s: number; samples: LinkSample[] } } {
    this.stop();
    const first = this.reads[0];
    const last = this.reads.at(-1);
    if (!first || !last) return { links: [], timeline: { interval_s: 0, samples: [] } };
    const end = Math.max(end_s, 0);
    const slice = sliceLength(end, this.interval > 0 ? this.interval : 0.05);
    const host = this.o.host ?? 'source';
    const capacityOf = this.o.capacity ?? kernelCapacity(this.root);
    const links: LinkUse[] = [];
    const samples: LinkSample[] = [];
    const counters = [...last.bytes.keys()].filter((k) => first.bytes.has(k)).sort();
    const n = end > 0 ? Math.ceil(end / slice - 1e-9) : 0;
    for (const k of counters) {
      const at = (t: number) => this.bytesAt(k, t);
      const total = at(end) - at(0);
      if (total < minBytes || total <= 0) continue;
      const name = `${host}/${k}`;
      const bits = capacityOf(k.slice(0, k.lastIndexOf('/')));
      let peak = 0;
      const rows: LinkSample[] = [];
      for (let i = 0; i < n; i++) {
        const a = i * slice;
        const b = Math.min(end, a + slice);
        const rate = b > a ? (at(b) - at(a)) / (b - a) : 0;
        peak = Math.max(peak, rate);
        rows.push({ t_s: a, link: name, bytes_per_s: rate, utilisation: bits ? (rate * 8) / bits : null });
      }
      samples.push(...rows);
      const mean = end > 0 ? total / end : 0;
      links.push({
        link: name,
        capacity_bps: bits,
        mean_bytes_per_s: mean,
        peak_bytes_per_s: peak,
        mean_utilisation: bits ? (mean * 8) / bits : null,
        peak_utilisation: bits ? (peak * 8) / bits : null,
      });
    }
    samples.sort((a, b) => a.t_s - b.t_s || a.link.localeCompare(b.link));
    return { links, timeline: { interval_s: n > 0 ? slice : 0, samples } };
  }

  /** Bytes counter `k` had at `t` (seconds since start), linear between two reads. */
  private bytesAt(k: string, t: number): number {
    const r = this.reads;
    let lo = 0;
    let hi = r.length - 1;
    if (t <= r[0]!.t) return r[0]!.bytes.get(k) ?? 0;
    if (t >= r[hi]!.t) return r[hi]!.bytes.get(k) ?? 0;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (r[mid]!.t <= t) lo = mid;
      else hi = mid;
    }
    const a = r[lo]!;
    const b = r[hi]!;
    const va = a.bytes.get(k) ?? 0;
    const vb = b.bytes.get(k) ?? va;
    return b.t > a.t ? va + ((vb - va) * (t - a.t)) / (b.t - a.t) : vb;
  }

  /** Every interface's byte counters now (an interface that vanished or cannot be read is left out). */
  private read(): Map<string, number> {
    const out = new Map<string, number>();
    let names: string[];
    try {
      names = readdirSync(this.root);
    } catch {
      return out;
    }
    for (const name of names) {
      for (const dir of ['tx', 'rx'] as const) {
        try {
          const v = Number(readFileSync(join(this.root, name, 'statistics', `${dir}_bytes`), 'utf8').trim());
          if (Number.isFinite(v)) out.set(`${name}/${dir}`, v);
        } catch {
          // not an interface with counters
        }
      }
    }
    return out;
  }
}

/** Slices of at least `interval`, doubled until the drain fits in MAX_SLICES of them. */
export function sliceLength(end: number, interval: number): number {
  let s = interval;
  while (end / s > MAX_SLICES) s *= 2;
  return s;
}

/** Capacity the kernel knows for an interface, bits/s: the lower of its speed and a root tbf's rate. */
export function kernelCapacity(root: string): (ifname: string) => number | null {
  const cache = new Map<string, number | null>();
  return (ifname) => {
    if (cache.has(ifname)) return cache.get(ifname)!;
    const known: number[] = [];
    try {
      const mbits = Number(readFileSync(join(root, ifname, 'speed'), 'utf8').trim());
      if (Number.isFinite(mbits) && mbits > 0) known.push(mbits * 1e6);
    } catch {
      // loopback and virtual interfaces have no speed
    }
    const tbf = tbfRate(ifname);
    if (tbf !== null) known.push(tbf);
    const c = known.length > 0 ? Math.min(...known) : null;
    cache.set(ifname, c);
    return c;
  };
}

/** The rate of a tc tbf root qdisc on the interface, bits/s (null: none, or no `tc`). */
export function tbfRate(ifname: string): number | null {
  if (!/^[\w.@-]{1,15}$/.test(ifname)) return null;
  try {
    const out = execFileSync('tc', ['-j', 'qdisc', 'show', 'dev', ifname], { encoding: 'utf8', timeout: 2000, stdio: ['ignore', 'pipe', 'ignore'] });
    return parseTbfRate(out);
  } catch {
    return null;
  }
}

/** The root tbf's rate from `tc -j qdisc show` (its JSON gives bytes/s), bits/s. */
export function parseTbfRate(json: string): number | null {
  let q: unknown;
  try {
    q = JSON.parse(json);
  } catch {
    return null;
  }
  if (!Array.isArray(q)) return null;
  for (const d of q as { kind?: unknown; root?: unknown; options?: { rate?: unknown } }[]) {
    if (d && d.kind === 'tbf' && d.root === true && typeof d.options?.rate === 'number' && d.options.rate > 0) return d.options.rate * 8;
  }
  return null;
}
