// What the transport's channels carry on an idle simulated network: one flow per channel between two
// hosts, at the max-min fair rates the flow network gives them.
import { SimFabric } from '../../../src/drivers/sim/fabric.js';
import type { Network } from '../../../src/network/index.js';
import type { TransportName } from '../../../src/result.js';

export function linkOf(network: Network, transport: TransportName) {
  const fabric = new SimFabric(network);
  const src = fabric.host('a');
  const dst = fabric.host('b');
  const channels = fabric.open(src, dst, transport, 0);
  const flows = channels.map((c) => fabric.net.addFlow(fabric.uses(src, dst, c), c.cap));
  const rates = flows.map((f) => fabric.net.rate(f));
  return { channels, rates, rate: rates.reduce((a, b) => a + b, 0), rtt: Math.max(...channels.map((c) => c.rtt)) };
}
