import { describe, expect, it } from 'vitest';
import { ActivityClock } from '../../src/drivers/sim/activity.js';
import { SimLink } from '../../src/drivers/sim/link.js';
import type { Event } from '../../src/migration/events.js';
import { getNetwork } from '../../src/network/index.js';
import { Simulator } from '../../src/sim/index.js';
import { buildLink } from '../../src/transport/model.js';

function setup(network: string, transport: 'tcp' | 'smb') {
  const sim = new Simulator();
  const net = getNetwork(network);
  const link = new SimLink(buildLink(net, transport), net.nics);
  const done: number[] = [];
  const clock = new ActivityClock(sim, () => link.available, 0.5, (ev) => done.push(ev.now));
  const paused = (now: number): Event => ({ type: 'paused', now });
  return { sim, link, clock, done, paused };
}

describe('ActivityClock', () => {
  it('completes an activity at its end, delayed by a stall, and never after a cancel', () => {
    const { sim, clock, done, paused } = setup('10g', 'tcp');
    clock.start(2, paused);
    sim.at(1, () => clock.delay(0.25));
    sim.run();
    expect(done).toEqual([2.25]);
    clock.start(1, paused);
    clock.cancel();
    sim.run();
    expect(done).toEqual([2.25]);
  });

  it('degrade: a link-bound transfer slows with the link; one paced by something else keeps its pace', () => {
    for (const paced of [false, true]) {
      // 2x1g-team: losing a member moves its flows to the other one, which then carries half as much
      const { sim, link, clock, done, paused } = setup('2x1g-team', 'smb');
      const full = link.available;
      const cap = paced ? full / 4 : Infinity; // paced: a quarter of the link, less than what is left
      const rate = Math.min(full, cap);
      clock.start(10, paused, { bytes: rate * 10, rateAt: (available) => Math.min(available, cap) });
      sim.at(5, () => {
        expect(link.failNic().moved.length).toBeGreaterThan(0);
        expect(link.available).toBeCloseTo(full / 2, 0);
        clock.degrade(false);
      });
      sim.run();
      expect(done[0]).toBeCloseTo(paced ? 10 : 15, 6);
    }
  });

  it('degrade during a stall: nothing moved in the stall, the rest goes on from its end at the new rate', () => {
    const { sim, link, clock, done, paused } = setup('2x1g-team', 'smb');
    const full = link.available;
    // 10 s transfer; a 5 s stall at t=2; a member fails at t=4 (in the stall), halving the rate
    clock.start(10, paused, { bytes: full * 10, rateAt: (available) => available });
    sim.at(2, () => clock.delay(5));
    sim.at(4, () => {
      link.failNic();
      clock.degrade(false);
    });
    sim.run();
    // 2 s done before the stall; the other 8 s of bytes at half the rate from t=7
    expect(done[0]).toBeCloseTo(7 + 16, 6);
  });

  it('restripe: a failed channel moves the end later; losing every channel reports false', () => {
    const { sim, link, clock, done, paused } = setup('2x10g', 'smb');
    const bytes = 2 ** 30;
    const c = link.cost(bytes / 4096, 0, 0);
    clock.start(c.seconds, paused, { bytes: c.wireBytes, rateAt: () => c.wireBytes / c.seconds }, { bytes: c.wireBytes, channels: link.simChannels(), rerate: link.rerate(), floor: c.floor });
    expect(clock.striped).toBe(true);
    const ids = link.simChannels().map((ch) => ch.id);
    sim.at(c.seconds / 2, () => expect(clock.restripe([ids[0]!])).toBe(true));
    sim.run();
    expect(done[0]).toBeGreaterThan(c.seconds);
    clock.start(c.seconds, paused, undefined, { bytes: c.wireBytes, channels: link.simChannels(), rerate: link.rerate(), floor: c.floor });
    sim.at(sim.now + c.seconds / 2, () => expect(clock.restripe(ids)).toBe(false));
    sim.run();
  });
});
