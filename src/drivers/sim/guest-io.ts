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
  private flows: { id: FlowId; demand: number }[] = [];

  constructor(private readonly engine: TransferEngine) {}

  /** Replace the demand flows (empty: none). */
  set(paths: readonly DemandPath[]): void {
    const same = paths.length === this.flows.length && paths.every((p, i) => p.demand === this.flows[i]!.demand);
    if (same && paths.length === 0) return;
    const net = this.engine.net;
    this.engine.mutate(() => {
      for (const f of this.flows) net.removeFlow(f.id);
      this.flows = paths.filter((p) => p.demand > 0).map((p) => ({ id: net.addFlow(p.uses, p.demand), demand: p.demand }));
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
