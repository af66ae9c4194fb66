// How busy each NIC port was during an evacuation: its utilisation (line-rate units in use over its
// capacity) is integrated exactly between the network's changes into time slices; when the slices grow
// too many, neighbours merge (the slice doubles), so a long rolling drain stays a readable timeline.

import type { ResourceId } from '../network/flows.js';
import type { SimWorld } from '../drivers/sim/world.js';
import type { LinkSample, LinkUse } from './types.js';

const MAX_SLICES = 1024;

interface Track {
  name: string;
  r: ResourceId;
  capacity: number;
  last: number;
  slices: number[];
  peak: number;
  busy: number;
}

export class LinkStats {
  private readonly tracks: Track[] = [];
  private slice: number;
  private t = 0;

  constructor(
    private readonly world: SimWorld,
    initialSlice = 1,
  ) {
    this.slice = initialSlice;
    world.engine.onRates(() => this.sample());
  }

  /** Follow every port of every host that exists now (call again when hosts are added). */
  watchPorts(): void {
    const known = new Set(this.tracks.map((t) => t.r));
    for (const h of this.world.fabric.hosts) {
      for (const p of h.ports.values()) {
        for (const [dir, r] of [['tx', p.tx], ['rx', p.rx]] as const) {
          if (known.has(r)) continue;
          this.tracks.push({ name: `${h.name}/${p.nic.name}/${dir}`, r, capacity: p.nic.lineRate, last: 0, slices: [], peak: 0, busy: 0 });
        }
      }
    }
  }

  /** Book each port's utilisation since the last change, then read the new one. */
  private sample(): void {
    const now = this.world.sim.now;
    const net = this.world.fabric.net;
    if (now > this.t) for (const tr of this.tracks) this.book(tr, this.t, now, tr.last);
    this.t = Math.max(this.t, now);
    for (const tr of this.tracks) {
      tr.last = tr.capacity > 0 ? net.used(tr.r) / tr.capacity : 0;
      if (tr.last > tr.peak) tr.peak = tr.last;
    }
  }

  private book(tr: Track, from: number, to: number, u: number): void {
    if (u <= 0) return;
    tr.busy += u * (to - from);
    for (let t = from; t < to; ) {
      let i = Math.floor(t / this.slice);
      while (i >= MAX_SLICES) {
        this.merge();
        i = Math.floor(t / this.slice);
      }
      const end = Math.min(to, (i + 1) * this.slice);
      tr.slices[i] = (tr.slices[i] ?? 0) + u * (end - t);
      t = end;
    }
  }

  /** Twice as long slices: neighbours add up. */
  private merge(): void {
    for (const tr of this.tracks) {
      const out: number[] = [];
      for (let i = 0; i < tr.slices.length; i += 2) out.push((tr.slices[i] ?? 0) + (tr.slices[i + 1] ?? 0));
      tr.slices = out;
    }
    this.slice *= 2;
  }

  /** Per port over `[0, end]`: capacity, mean and peak use; and the timeline of the used ports. */
  finish(end: number): { links: LinkUse[]; timeline: { interval_s: number; samples: LinkSample[] } } {
    if (end > this.t) for (const tr of this.tracks) this.book(tr, this.t, end, tr.last);
    this.t = Math.max(this.t, end);
    const used = this.tracks.filter((t) => t.busy > 0);
    const links = used.map((t) => {
      const mean = end > 0 ? t.busy / end : 0;
      return { link: t.name, capacity_bps: t.capacity * 8, mean_bytes_per_s: mean * t.capacity, peak_bytes_per_s: t.peak * t.capacity, mean_utilisation: mean, peak_utilisation: t.peak };
    });
    const samples: LinkSample[] = [];
    const n = Math.ceil(end / this.slice);
    for (let i = 0; i < n; i++) {
      const width = Math.min(this.slice, end - i * this.slice);
      if (width <= 0) break;
      for (const t of used) {
        const u = (t.slices[i] ?? 0) / width;
        samples.push({ t_s: i * this.slice, link: t.name, bytes_per_s: u * t.capacity, utilisation: u });
      }
    }
    return { links, timeline: { interval_s: this.slice, samples } };
  }
}
