// One clock and one network that simulated migrations share: the simulator, the hosts and their NICs on
// the flow network, the transfers on it, and the destination hosts' own state.

import type { Scenario } from '../../scenario.js';
import { Simulator } from '../../sim/index.js';
import type { DestHost } from './destination.js';
import { SimFabric } from './fabric.js';
import { TransferEngine } from './transfers.js';

/** One clock and one network that migrations share. */
export interface SimWorld {
  sim: Simulator;
  fabric: SimFabric;
  engine: TransferEngine;
  /** Destination hosts by name (their crash, stall and storage state). */
  destHosts: Map<string, DestHost>;
}

export function newWorld(s: Scenario, sim = new Simulator()): SimWorld {
  const fabric = new SimFabric(s.network, s.host.cores * (1 - s.host.load));
  return { sim, fabric, engine: new TransferEngine(sim, fabric.net), destHosts: new Map() };
}


/** Where a migration runs: its source and destination hosts, and which of the pair's streams it is. */
export interface Route {
  src: string;
  dst: string;
  stream: number;
}

