// Child process of bench/transport.ts: a receiver on loopback that serves sessions until it is told to
// stop. Its port goes back to the parent over IPC; so do its commit reports.
import { Receiver } from '../src/transport/tcp/receiver.js';
import { DiscardSink, MemorySink } from '../src/transport/tcp/sinks.js';

const sinkKind = process.env.MIGBENCH_BENCH_SINK ?? 'discard';
const tls = process.env.MIGBENCH_BENCH_TLS === '1';
const key = Buffer.from(process.env.MIGBENCH_KEY ?? '', 'utf8');
const r = new Receiver({
  listen: [{ host: '127.0.0.1', port: 0 }],
  key,
  tls,
  sink: ({ size }) => (sinkKind === 'memory' ? new MemorySink(size, { prefault: true }) : new DiscardSink()),
});
r.on('commit', (c) => process.send?.({ type: 'commit', report: c }));
const [ep] = await r.listen();
process.send?.({ type: 'ready', port: ep!.port });
process.on('message', (m: { type: string }) => {
  if (m.type === 'stop') void r.close().then(() => process.exit(0));
  // CPU time of this whole process (every thread) so far, microseconds: the parent takes differences.
  if (m.type === 'cpu') process.send?.({ type: 'cpu', usage: process.cpuUsage() });
});
