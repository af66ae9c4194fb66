import { describe, expect, it } from 'vitest';
import { TransferEngine } from '../../../src/drivers/sim/transfers.js';
import { FlowNetwork } from '../../../src/network/flows.js';
import { getNetwork } from '../../../src/network/index.js';
import { Simulator } from '../../../src/sim/index.js';
import { CHANNEL_WINDOW, CHUNK_SIZE } from '../../../src/transport/defaults.js';
import { simulateSimTransfer, simulateStripedTransfer } from '../../../src/transport/sim-channels.js';
import { SimFabric } from '../../../src/drivers/sim/fabric.js';
import { linkOf } from './helpers.js';

function setup(capacity = 100) {
  const sim = new Simulator();
  const net = new FlowNetwork();
  const link = net.addResource('link', capacity);
  const engine = new TransferEngine(sim, net);
  const ends: Record<string, number> = {};
  const start = (name: string, bytes: number, o: { cap?: number; floor?: number; tail?: number; paths?: number; groupCap?: number } = {}) =>
    engine.start({
      bytes,
      paths: Array.from({ length: o.paths ?? 1 }, () => ({ uses: [{ r: link, k: 1 }], cap: o.cap ?? Infinity })),
      floor: o.floor ?? 0,
      tail: o.tail ?? 0,
      ...(o.groupCap !== undefined ? { groupCap: o.groupCap } : {}),
      done: (at) => (ends[name] = at),
    });
  return { sim, net, link, engine, ends, start };
}

describe('TransferEngine', () => {
  it('one transfer: bytes over its rate, never before its floor, then the last round trip', () => {
    const { sim, ends, start } = setup();
    start('a', 500, { tail: 0.5 });
    start('b', 100, { cap: 10, floor: 50 }); // 10 bytes/s alone would take 10 s; the floor says 50
    sim.run();
    // a shares the link with b (capped at 10): 90/s, 500 bytes in 5.556 s
    expect(ends['a']).toBeCloseTo(500 / 90 + 0.5, 9);
    expect(ends['b']).toBeCloseTo(50, 9);
  });

  it('two transfers share the link fairly; when one ends the other speeds up (booked at the old rate first)', () => {
    const { sim, ends, start } = setup();
    start('small', 100);
    start('big', 400);
    sim.run();
    // both at 50/s: small ends at 2 s having moved 100; big moved 100 by then, 300 more at 100/s
    expect(ends['small']).toBeCloseTo(2, 9);
    expect(ends['big']).toBeCloseTo(5, 9);
  });

  it('a group cap holds all the paths of a transfer together', () => {
    const { sim, ends, start } = setup();
    start('a', 100, { paths: 4, groupCap: 20 });
    sim.run();
    expect(ends['a']).toBeCloseTo(5, 9);
  });

  it('a stall freezes a transfer (others take its share meanwhile), and moves its floor', () => {
    const { sim, engine, ends, start } = setup();
    const a = start('a', 100);
    start('b', 100);
    sim.at(1, () => engine.freeze(a, 2));
    sim.run();
    // 0-1 s: 50/s each (a: 50 done, b: 50 done); 1-2 s: b alone at 100/s, done at 1.5 s; a frozen until 3 s, then 50 more at 100/s
    expect(ends['b']).toBeCloseTo(1.5, 9);
    expect(ends['a']).toBeCloseTo(3.5, 9);
  });

  it('a channel lost mid-transfer: the survivors carry on, and its window goes again once the sender noticed', () => {
    const { sim, engine, ends, start } = setup();
    const a = start('a', 1000, { paths: 2, cap: 50 });
    sim.at(2, () => expect(engine.loseChannels(a, [0], 40, 5)).toBe(true));
    sim.run();
    // 0-2 s: 100/s (200 done); then one path at 50/s: 800 + 40 resent = 840 more at 50/s -> 18.8 s
    expect(ends['a']).toBeCloseTo(2 + 840 / 50, 9);
    // losing the last path leaves nothing to carry it: it never ends by itself
    const late = setup();
    const b = late.start('b', 100);
    late.sim.at(0.5, () => expect(late.engine.loseChannels(b, [0], 0, 1)).toBe(false));
    late.sim.run();
    expect(late.ends['b']).toBeUndefined();
  });

  it('the fluid transfer is the chunk-level striper (sim-channels) within a chunk per channel: 1 GiB over SMB on 2x10g', () => {
    const link = linkOf(getNetwork('2x10g'), 'smb');
    const bytes = 2 ** 30;
    const striped = simulateStripedTransfer(bytes, link.channels.map((c, i) => ({ id: c.id, rate: link.rates[i]!, rtt: c.rtt }))).seconds;
    const fluid = bytes / link.rate + link.rtt;
    expect(Math.abs(striped - fluid)).toBeLessThan(CHUNK_SIZE / Math.min(...link.rates));
    // and with a channel dying half-way (the sender noticing 1 s later): the survivors on its NIC take up
    // its share (max-min), its window goes again: within 2% of the striper replaying the same failure
    const dies = fluid / 2;
    const fabric = new SimFabric(getNetwork('2x10g'));
    const [a, b] = [fabric.host('a'), fabric.host('b')];
    const open = fabric.open(a, b, 'smb', 0);
    const sim = new Simulator();
    const engine = new TransferEngine(sim, fabric.net);
    let end = 0;
    const t = engine.start({ bytes, paths: open.map((c) => ({ uses: fabric.uses(a, b, c), cap: c.cap })), floor: 0, tail: link.rtt, done: (at) => (end = at) });
    sim.at(dies, () => engine.loseChannels(t, [0], Math.min(CHANNEL_WINDOW, t.done + t.rate * (sim.now - t.last)), dies + 1));
    sim.run();
    const after = new Map(open.slice(1).map((c) => [c.id, link.rates[0]! * (c.src === open[0]!.src ? 4 / 3 : 1)]));
    const channels = link.channels.map((c, i) => ({ id: c.id, rate: link.rates[i]!, rtt: c.rtt }));
    const striped2 = simulateSimTransfer(bytes, channels, [{ channel: open[0]!.id, dies, noticed: dies + 1 }], () => after).seconds;
    // the lost window waits for the notice (1 s), longer than the rest of the transfer: both end then
    expect(end).toBeGreaterThan(dies + 1);
    expect(Math.abs(striped2 - end) / striped2).toBeLessThan(0.02);
  });
});
