// The guest's storage IO that rides the network: the writes a live storage migration mirrors to the
// destination, and, with --converged, every IO of an smb-share guest to its file server. They are demand
// flows on the shared network: each takes what it needs up to its fair share, and when it gets less the
// guest's IO slows to match (a mirrored write completes only when both sides have it; an SMB IO only when
// the file server answered) -- it never loses a write.

import type { FlowId, ResourceId } from '../../network/flows.js';
import type { TransferEngine } from './transfers.js';

export interface DemandPath {
  uses: { r: ResourceId; k: number }[];
  /** Bytes/s this path should carry. */
  demand: number;
}

export class GuestIoFlows {
  private flows: { id: FlowId; demand: number; uses: DemandPath['uses'] }[] = [];

  constructor(private readonly engine: TransferEngine) {}

  /** Replace the demand flows (empty: none). */
  set(paths: readonly DemandPath[]): void {
    const want = paths.filter((p) => p.demand > 0);
    const flows = this.flows;
    if (want.length === 0 && flows.length === 0) return;
    const net = this.engine.net;
    // The same paths with new demands (the mirror's share grows as the copy goes): move the caps only.
    if (want.length === flows.length && want.every((p, i) => p.uses === flows[i]!.uses)) {
      if (want.every((p, i) => p.demand === flows[i]!.demand)) return;
      this.engine.mutate(() =>
        want.forEach((p, i) => {
          net.setCap(flows[i]!.id, p.demand);
          flows[i]!.demand = p.demand;
        }),
      );
      return;
    }
    this.engine.mutate(() => {
      for (const f of flows) net.removeFlow(f.id);
      this.flows = want.map((p) => ({ id: net.addFlow(p.uses, p.demand), demand: p.demand, uses: p.uses }));
    });
  }

  clear(): void {
    this.set([]);
  }

  /** The share of its demand the guest's networked IO gets now (1: all of it, or none is networked). */
  fraction(): number {
    let f = 1;
    for (const x of this.flows) f = Math.min(f, this.engine.net.rate(x.id) / x.demand);
    return f;
  }
}
