// Micro-benchmark cases for `npm run bench:micro`: the simulator's hot paths. Each case is one entry:
// `setup` builds its state once and returns the function tinybench times (and, when a case must undo
// its effect between iterations, a `beforeEach` that runs outside the timing).
//
// The transport's hot paths are here too: striper scheduling, the striped transfer in virtual time,
// frame encode/decode and CRC-32C.

import { GuestMemory, takeBytes } from '../../src/guest/memory.js';
import { WORKLOAD_PRESETS, WorkloadModel } from '../../src/guest/workload.js';
import { getNetwork } from '../../src/network/index.js';
import { Rng } from '../../src/random/index.js';
import { EventQueue } from '../../src/sim/index.js';
import { selectChannels } from '../../src/transport/selection.js';
import { SimFabric } from '../../src/drivers/sim/fabric.js';
import { FlowNetwork } from '../../src/network/flows.js';
import { simulateStripedTransfer } from '../../src/transport/sim-channels.js';
import { Striper } from '../../src/transport/striper.js';
import { decodeFrame, encodeFrame, FrameType } from '../../src/transport/tcp/frame.js';
import { crc32c } from '../../src/transport/tcp/crc.js';

/** Columns of reports/micro.csv (docs/csv.md). */
export const MICRO_COLUMNS = ['case', 'what', 'samples', 'mean_ns', 'median_ns', 'p99_ns', 'ops_per_s', 'rme_pct'] as const;

export interface MicroCase {
  name: string;
  /** What one call of the timed function does. */
  what: string;
  setup(): { fn: () => void; beforeEach?: () => void };
}

const GIB_PAGES = 262_144; // 1 GiB of 4 KiB pages

function memoryWith(workload: string, seed: string): { mem: GuestMemory; model: WorkloadModel; rng: Rng } {
  const rng = Rng.stream(1, 'micro', seed);
  const spec = WORKLOAD_PRESETS[workload]!;
  const mem = new GuestMemory(GIB_PAGES, spec.zeroFraction, rng);
  const model = new WorkloadModel(spec, GIB_PAGES, rng);
  mem.startLogging();
  return { mem, model, rng };
}

export const MICRO_CASES: MicroCase[] = [
  {
    name: 'dirty-pages/oltp-sparse',
    what: '10 ms of the oltp workload on a 1 GiB guest (about 100 page writes: geometric skipping)',
    setup() {
      const { mem, model, rng } = memoryWith('oltp', 'oltp');
      return { fn: () => void model.advance(mem, 0.01, 0, rng) };
    },
  },
  {
    name: 'dirty-pages/churn-dense',
    what: '100 ms of the churn workload on a 1 GiB guest (40,000 writes into 512 MiB: 32-page Bernoulli masks)',
    setup() {
      const { mem, model, rng } = memoryWith('churn', 'churn');
      return { fn: () => void model.advance(mem, 0.1, 0, rng) };
    },
  },
  {
    name: 'bitmap-sync/1GiB',
    what: 'dirty-log sync (get and clear) of a 1 GiB guest after 100 ms of churn',
    setup() {
      const { mem, model, rng } = memoryWith('churn', 'sync');
      return { beforeEach: () => void model.advance(mem, 0.1, 0, rng), fn: () => void mem.sync() };
    },
  },
  {
    name: 'send-snapshot/1GiB',
    what: "copy a synced round's page versions to the destination image (1 GiB guest, 100 ms of churn)",
    setup() {
      const { mem, model, rng } = memoryWith('churn', 'send');
      const dest = takeBytes(GIB_PAGES);
      return {
        beforeEach: () => {
          model.advance(mem, 0.1, 0, rng);
          mem.sync();
        },
        fn: () => mem.sendSnapshot(dest),
      };
    },
  },
  {
    name: 'event-queue/push-pop-1000',
    what: 'push 1,000 events at random times into the event queue, then pop them all',
    setup() {
      const rng = Rng.stream(1, 'micro', 'queue');
      const times = Array.from({ length: 1000 }, () => rng.next() * 100);
      return {
        fn: () => {
          const q = new EventQueue<number>();
          for (let i = 0; i < times.length; i++) q.push(times[i]!, i);
          while (q.pop() !== undefined);
        },
      };
    },
  },
  {
    name: 'rng/bernoulli-mask',
    what: '1,000 32-bit Bernoulli masks (p = 0.3) from one SFC32 stream',
    setup() {
      const rng = Rng.stream(1, 'micro', 'rng');
      return {
        fn: () => {
          let x = 0;
          for (let i = 0; i < 1000; i++) x ^= rng.bernoulliMask32(0.3);
          if (x === 0.5) throw new Error('unreachable');
        },
      };
    },
  },
  {
    name: 'channel-selection/2x10g-rdma',
    what: 'SMB multichannel selection over the 2x10g-rdma profile, and the channels opened on it between two hosts',
    setup() {
      const net = getNetwork('2x10g-rdma');
      const fabric = new SimFabric(net);
      const [a, b] = [fabric.host('a'), fabric.host('b')];
      return {
        fn: () => {
          selectChannels(net.nics);
          fabric.open(a, b, 'smb', 0);
        },
      };
    },
  },
  {
    name: 'flow-network/64-flows',
    what: 'max-min fair rates of 64 flows (8 migrations x 8 SMB channels) from one host to 4 over 2x10g, after one flow changes',
    setup() {
      const net = new FlowNetwork();
      const port = () => net.addResource('port', 1.25e9);
      const src = [port(), port()];
      const dst = Array.from({ length: 8 }, port);
      const flows = Array.from({ length: 64 }, (_, i) => net.addFlow([src[i % 2]!, dst[i % 8]!], 0.5e9));
      let k = 0;
      return {
        fn: () => {
          net.setCap(flows[k++ % 64]!, 0.4e9 + (k % 2) * 0.1e9);
          net.allocate();
        },
      };
    },
  },
  {
    name: 'striper/assign-ack-8ch',
    what: 'stripe 64 MiB in 1 MiB chunks over 8 channels: 64 assignments and acknowledgements',
    setup() {
      return {
        fn: () => {
          const st = new Striper(
            Array.from({ length: 8 }, (_, id) => ({ id, rate: 1 })),
            { chunkSize: 2 ** 20, window: 8 * 2 ** 20 },
          );
          st.append(64 * 2 ** 20);
          for (let a = st.nextAssignment(); a; a = st.nextAssignment()) st.ack(a.channel, a.seq);
        },
      };
    },
  },
  {
    name: 'striped-transfer/1GiB-2x10g',
    what: 'simulate a 1 GiB SMB transfer over the 8 channels of 2x10g in virtual time (1,024 chunks)',
    setup() {
      const net = getNetwork('2x10g');
      const fabric = new SimFabric(net);
      const [a, b] = [fabric.host('a'), fabric.host('b')];
      const open = fabric.open(a, b, 'smb', 0);
      const flows = open.map((c) => fabric.net.addFlow(fabric.uses(a, b, c), c.cap));
      const channels = open.map((c, i) => ({ id: c.id, rate: fabric.net.rate(flows[i]!), rtt: c.rtt }));
      return { fn: () => void simulateStripedTransfer(2 ** 30, channels) };
    },
  },
  {
    name: 'frame/encode-decode-1MiB',
    what: 'encode a 1 MiB DATA frame (header and payload CRC-32C) and decode it again',
    setup() {
      const payload = Buffer.alloc(2 ** 20, 7);
      const header = { type: FrameType.DATA, flags: 0, session: '00000000000000aa', channel: 3, seq: 42, offset: 2 ** 30 };
      return { fn: () => void decodeFrame(encodeFrame(header, payload), { maxData: 2 ** 21, maxControl: 2 ** 16, preAuth: false }) };
    },
  },
  {
    name: 'crc32c/1MiB',
    what: 'CRC-32C of 1 MiB (aws-crt checksums: SSE 4.2 on interleaved streams + carry-less multiply)',
    setup() {
      const data = Buffer.alloc(2 ** 20, 9);
      return { fn: () => void crc32c(data) };
    },
  },
];
