// Cost of the striper per chunk in steady state (what the simulator pays): every channel's window full,
// acks in send order, as a link would return them. `node dist/bench/striper.js`
import { Striper, type Assignment } from '../src/transport/striper.js';

const CHUNKS = 200_000;
for (const channels of [1, 2, 8, 32]) {
  const best: number[] = [];
  for (let rep = 0; rep < 5; rep++) {
    const s = new Striper(
      Array.from({ length: channels }, (_, i) => ({ id: i, rate: 1.25e9 * (1 + (i % 3)) })),
      { chunkSize: 65536, window: 4 * 65536 },
    );
    s.enqueue(0, CHUNKS * 65536);
    const ring: Assignment[] = new Array(channels * 8);
    let head = 0;
    let tail = 0;
    let done = 0;
    const t0 = process.hrtime.bigint();
    while (done < CHUNKS) {
      for (let a = s.nextAssignment(); a; a = s.nextAssignment()) ring[tail++ % ring.length] = a;
      const a = ring[head++ % ring.length]!;
      s.ack(a.channel, a.seq);
      done++;
    }
    best.push(Number(process.hrtime.bigint() - t0) / CHUNKS);
  }
  process.stdout.write(`${String(channels).padStart(2)} channels: ${Math.min(...best).toFixed(0)} ns per chunk (assign + ack), best of 5 x ${CHUNKS}\n`);
}
