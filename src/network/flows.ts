// A network shared by flows: resources with capacities (a NIC's transmit or receive side, a host's disk,
// a host's idle CPU, a transfer's own limit) and flows that cross some of them, each using `usage` units
// of a resource per byte per second (1 for a NIC in line-rate units scaled by protocol efficiency, CPU
// seconds per byte for a CPU), each with its own cap (one TCP stream's core, a window over a round trip,
// an IO demand). Rates are max-min fair (SimGrid's flow model, without its latency corrections): every
// flow's rate rises together until it meets its cap or crosses a resource that is full; the flows held
// there keep their rate and the rest rise on (progressive filling). Rates are recomputed lazily after any
// change.

import { StateError } from '../errors.js';

export type ResourceId = number;
export type FlowId = number;

interface Resource {
  name: string;
  capacity: number;
  /** Units the flows use now (after the last allocation). */
  used: number;
  /** Removed: its id may be reused. */
  free: boolean;
}

interface FlowState {
  /** Resources crossed, with the units used per byte/s. */
  uses: { r: ResourceId; k: number }[];
  cap: number;
  rate: number;
}

/** Slack below which a resource counts as full and a flow as at its cap (relative). */
const EPS = 1e-12;

export class FlowNetwork {
  private readonly resources: Resource[] = [];
  private readonly freeIds: ResourceId[] = [];
  private readonly flows = new Map<FlowId, FlowState>();
  private nextFlow = 1;
  private dirty = false;
  // Scratch space for allocate(), kept between calls.
  private rem = new Float64Array(16);
  private weight = new Float64Array(16);
  private readonly scratch: FlowState[] = [];
  /** Bumped each time the rates are recomputed (a cheap way to tell whether anything moved). */
  generation = 0;

  addResource(name: string, capacity: number): ResourceId {
    if (!(capacity >= 0)) throw new StateError(`resource ${name}: capacity must be >= 0, got ${capacity}`);
    this.dirty = true;
    const reuse = this.freeIds.pop();
    if (reuse !== undefined) {
      this.resources[reuse] = { name, capacity, used: 0, free: false };
      return reuse;
    }
    this.resources.push({ name, capacity, used: 0, free: false });
    return this.resources.length - 1;
  }

  /** Remove a resource no flow crosses any more (a finished transfer's own limit); its id may be reused. */
  removeResource(r: ResourceId): void {
    const x = this.res(r);
    for (const f of this.flows.values()) if (f.uses.some((u) => u.r === r)) throw new StateError(`resource ${x.name} is still crossed by a flow`);
    x.free = true;
    x.capacity = 0;
    this.freeIds.push(r);
  }

  capacity(r: ResourceId): number {
    return this.res(r).capacity;
  }

  setCapacity(r: ResourceId, capacity: number): void {
    if (!(capacity >= 0)) throw new StateError(`resource ${this.res(r).name}: capacity must be >= 0, got ${capacity}`);
    this.res(r).capacity = capacity;
    this.dirty = true;
  }

  resourceName(r: ResourceId): string {
    return this.res(r).name;
  }

  /** A flow across `uses` (resource and units per byte/s; 1 when omitted), at most `cap` bytes/s. */
  addFlow(uses: readonly (ResourceId | { r: ResourceId; k: number })[], cap = Infinity): FlowId {
    if (!(cap >= 0)) throw new StateError(`a flow's cap must be >= 0, got ${cap}`);
    const list = uses.map((u) => (typeof u === 'number' ? { r: u, k: 1 } : { ...u }));
    for (const u of list) {
      this.res(u.r);
      if (!(u.k > 0)) throw new StateError(`a flow uses a positive amount of ${this.res(u.r).name}, got ${u.k}`);
    }
    const id = this.nextFlow++;
    this.flows.set(id, { uses: list, cap, rate: 0 });
    this.dirty = true;
    return id;
  }

  removeFlow(id: FlowId): void {
    if (this.flows.delete(id)) this.dirty = true;
  }

  setCap(id: FlowId, cap: number): void {
    const f = this.flow(id);
    if (!(cap >= 0)) throw new StateError(`a flow's cap must be >= 0, got ${cap}`);
    if (f.cap !== cap) {
      f.cap = cap;
      this.dirty = true;
    }
  }

  /** Move a flow onto other resources (a team moving a stream to another member). */
  reroute(id: FlowId, uses: readonly (ResourceId | { r: ResourceId; k: number })[]): void {
    const f = this.flow(id);
    f.uses = uses.map((u) => (typeof u === 'number' ? { r: u, k: 1 } : { ...u }));
    this.dirty = true;
  }

  has(id: FlowId): boolean {
    return this.flows.has(id);
  }

  /** The flow's rate now, bytes/s. */
  rate(id: FlowId): number {
    this.allocate();
    return this.flow(id).rate;
  }

  /** Units of the resource in use now. */
  used(r: ResourceId): number {
    this.allocate();
    return this.res(r).used;
  }

  get flowCount(): number {
    return this.flows.size;
  }

  /** Recompute every rate if anything changed since the last time. */
  allocate(): void {
    if (!this.dirty) return;
    this.dirty = false;
    this.generation++;
    const nr = this.resources.length;
    if (this.rem.length < nr) {
      this.rem = new Float64Array(Math.max(nr, 2 * this.rem.length));
      this.weight = new Float64Array(this.rem.length);
    }
    const rem = this.rem;
    const weight = this.weight;
    for (let r = 0; r < nr; r++) rem[r] = this.resources[r]!.capacity;
    const active = this.scratch;
    active.length = 0;
    for (const f of this.flows.values()) {
      f.rate = 0;
      // A flow across a resource with nothing to give (a dead NIC) or with no room of its own carries nothing.
      let open = f.cap > 0;
      for (let i = 0; open && i < f.uses.length; i++) if (!(rem[f.uses[i]!.r]! > 0)) open = false;
      if (open) active.push(f);
    }
    // Progressive filling: every active flow rises by the same step until a cap or a full resource holds it.
    for (let guard = 0; active.length > 0; guard++) {
      if (guard > 4 * (this.flows.size + nr) + 8) throw new StateError('max-min allocation did not converge');
      weight.fill(0, 0, nr);
      for (const f of active) for (let i = 0; i < f.uses.length; i++) weight[f.uses[i]!.r]! += f.uses[i]!.k;
      let step = Infinity;
      for (let r = 0; r < nr; r++) if (weight[r]! > 0 && rem[r]! / weight[r]! < step) step = rem[r]! / weight[r]!;
      for (const f of active) if (f.cap - f.rate < step) step = f.cap - f.rate;
      if (!(step >= 0)) step = 0;
      for (const f of active) f.rate += step;
      for (let r = 0; r < nr; r++) if (weight[r]! > 0) rem[r] = Math.max(0, rem[r]! - step * weight[r]!);
      let kept = 0;
      for (const f of active) {
        let held = f.rate >= f.cap * (1 - EPS);
        for (let i = 0; !held && i < f.uses.length; i++) {
          const r = f.uses[i]!.r;
          if (rem[r]! <= EPS * Math.max(1, this.resources[r]!.capacity)) held = true;
        }
        if (!held) active[kept++] = f;
      }
      active.length = kept;
    }
    for (let r = 0; r < nr; r++) this.resources[r]!.used = this.resources[r]!.capacity - rem[r]!;
  }

  private res(r: ResourceId): Resource {
    const x = this.resources[r];
    if (!x || x.free) throw new StateError(`no resource ${r}`);
    return x;
  }

  private flow(id: FlowId): FlowState {
    const f = this.flows.get(id);
    if (!f) throw new StateError(`no flow ${id}`);
    return f;
  }
}
