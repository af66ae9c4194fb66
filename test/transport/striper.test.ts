import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { AllChannelsLostError, Striper, type Assignment } from '../../src/transport/striper.js';

const SPACE = 2048;

type Op =
  | { k: 'enq'; offset: number; length: number }
  | { k: 'assign'; n: number }
  | { k: 'ack'; pick: number }
  | { k: 'fail'; pick: number }
  | { k: 'barrier' }
  | { k: 'pause'; pick: number; on: boolean };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ k: fc.constant('enq' as const), offset: fc.nat(SPACE - 1), length: fc.nat(300) }),
  fc.record({ k: fc.constant('assign' as const), n: fc.integer({ min: 1, max: 20 }) }),
  fc.record({ k: fc.constant('ack' as const), pick: fc.nat() }),
  fc.record({ k: fc.constant('fail' as const), pick: fc.nat() }),
  fc.record({ k: fc.constant('barrier' as const) }),
  fc.record({ k: fc.constant('pause' as const), pick: fc.nat(), on: fc.boolean() }),
);

const setupArb = fc.record({
  rates: fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 6 }),
  chunkSize: fc.integer({ min: 1, max: 128 }),
  window: fc.option(fc.integer({ min: 1, max: 600 }), { nil: undefined }),
  policy: fc.constantFrom('least-loaded' as const, 'round-robin' as const),
  ops: fc.array(opArb, { maxLength: 80 }),
});

/** Drive a striper with random operations, never killing the last channel, then drain it. */
interface Setup {
  rates: number[];
  chunkSize: number;
  window: number | undefined;
  policy: 'least-loaded' | 'round-robin';
  ops: Op[];
}

function drive(setup: Setup) {
  const { rates, chunkSize, window, policy, ops } = setup;
  const s = new Striper(
    rates.map((rate, id) => ({ id: id * 3 + 1, rate })),
    { chunkSize, policy, ...(window !== undefined ? { window } : {}) },
  );
  const ids = rates.map((_, id) => id * 3 + 1);
  const rateOf = new Map(ids.map((id, i) => [id, rates[i]!]));
  const coverage = new Int32Array(SPACE + 300);
  const inFlight: Assignment[] = [];
  const paused = new Set<number>();
  let epoch = 0;
  let enqueued = 0;
  const pendingByEpoch = new Map<number, number>();
  const violations: string[] = [];

  const assignOne = (): boolean => {
    // Expected choice under least-loaded: minimum load/rate among eligible channels.
    const before = new Map(ids.map((id) => [id, s.inFlightBytes(id)]));
    const a = s.nextAssignment();
    if (!a) return false;
    const eligible = ids.filter((id) => {
      if (!s.isAlive(id) || paused.has(id)) return false;
      const f = before.get(id)!;
      return f === 0 || window === undefined || f + a.length <= window;
    });
    const loads = new Map(eligible.map((id) => [id, before.get(id)! / rateOf.get(id)!]));
    if (a.length < 1 || a.length > chunkSize) violations.push(`length ${a.length}`);
    const had = before.get(a.channel)!;
    if (window !== undefined && had > 0 && had + a.length > window) violations.push(`window exceeded on ${a.channel}`);
    if (!s.isAlive(a.channel) || paused.has(a.channel)) violations.push(`dead or paused channel ${a.channel} chosen`);
    const tagEpoch = (a.tag as { epoch: number }).epoch;
    // Barrier: every byte of earlier epochs must be acknowledged before a later epoch's chunk goes out.
    for (const [e, left] of pendingByEpoch) if (e < tagEpoch && left > 0) violations.push(`epoch ${tagEpoch} before ${e} done`);
    if (policy === 'least-loaded') {
      const min = Math.min(...[...loads.values()]);
      const mine = loads.get(a.channel);
      if (mine === undefined || mine > min + 1e-12) violations.push(`not least loaded: ${a.channel} ${mine} > ${min}`);
    }
    inFlight.push(a);
    return true;
  };
  const ackAt = (i: number) => {
    const a = inFlight.splice(i, 1)[0]!;
    const n = s.ack(a.channel, a.seq);
    if (n !== a.length) violations.push(`ack returned ${n} for ${a.length}`);
    for (let b = a.offset; b < a.offset + a.length; b++) coverage[b]!--;
    const e = (a.tag as { epoch: number }).epoch;
    pendingByEpoch.set(e, pendingByEpoch.get(e)! - a.length);
  };

  for (const op of ops) {
    switch (op.k) {
      case 'enq':
        s.enqueue(op.offset, op.length, { epoch });
        for (let b = op.offset; b < op.offset + op.length; b++) coverage[b]!++;
        enqueued += op.length;
        pendingByEpoch.set(epoch, (pendingByEpoch.get(epoch) ?? 0) + op.length);
        break;
      case 'assign':
        for (let i = 0; i < op.n && assignOne(); i++);
        break;
      case 'ack':
        if (inFlight.length > 0) ackAt(op.pick % inFlight.length);
        break;
      case 'fail': {
        const alive = s.aliveChannels();
        if (alive.length > 1) {
          const id = alive[op.pick % alive.length]!;
          const expected = inFlight.filter((a) => a.channel === id).reduce((t, a) => t + a.length, 0);
          const requeued = s.failChannel(id);
          if (requeued !== expected) violations.push(`requeued ${requeued} != ${expected}`);
          for (let i = inFlight.length - 1; i >= 0; i--) if (inFlight[i]!.channel === id) inFlight.splice(i, 1);
        }
        break;
      }
      case 'barrier':
        s.barrier();
        epoch++;
        break;
      case 'pause': {
        const id = ids[op.pick % ids.length]!;
        s.setPaused(id, op.on);
        if (op.on) paused.add(id);
        else paused.delete(id);
        break;
      }
    }
  }
  for (const id of ids) s.setPaused(id, false);
  paused.clear();
  // Drain: bounded by the number of bytes (each round assigns or acks at least one chunk).
  for (let guard = 0; guard < 100_000 && !s.idle; guard++) {
    for (let guard = 0; assignOne(); guard++) expect(guard).toBeLessThan(100_000);
    if (inFlight.length > 0) ackAt(0);
  }
  return { s, coverage, enqueued, violations, idle: s.idle };
}

describe('Striper', () => {
  it('acknowledges every enqueued byte exactly once, honours least-loaded, windows and barriers, survives failures', () => {
    fc.assert(
      fc.property(setupArb, (setup) => {
        const r = drive(setup);
        expect(r.violations).toEqual([]);
        expect(r.idle).toBe(true);
        expect(r.s.stats().bytesAcked).toBe(r.enqueued);
        expect(r.s.stats().bytesInFlight).toBe(0);
        expect([...r.coverage].every((c) => c === 0)).toBe(true);
      }),
      { numRuns: 400 },
    );
  });

  it('cuts a region into chunks at increasing offsets and spreads them by rate', () => {
    const s = new Striper([{ id: 0, rate: 1 }, { id: 1, rate: 3 }], { chunkSize: 10 });
    s.enqueue(0, 80);
    const got: Assignment[] = [];
    for (let a = s.nextAssignment(); a; a = s.nextAssignment()) got.push(a);
    expect(got.map((a) => a.offset)).toEqual([0, 10, 20, 30, 40, 50, 60, 70]);
    // 3:1 rate ratio gives 6 chunks to channel 1 and 2 to channel 0
    expect(got.filter((a) => a.channel === 1).length).toBe(6);
    expect(new Set(got.map((a) => a.seq)).size).toBe(8);
  });

  it('round-robin ignores load; a window holds chunks back until acks free it', () => {
    const rr = new Striper([{ id: 0, rate: 1 }, { id: 1, rate: 100 }], { chunkSize: 4, policy: 'round-robin' });
    rr.enqueue(0, 16);
    const ch: number[] = [];
    for (let a = rr.nextAssignment(); a; a = rr.nextAssignment()) ch.push(a.channel);
    expect(ch).toEqual([0, 1, 0, 1]);

    const w = new Striper([{ id: 0, rate: 1 }], { chunkSize: 4, window: 8 });
    w.enqueue(0, 20);
    const a1 = w.nextAssignment()!;
    w.nextAssignment();
    expect(w.nextAssignment()).toBeUndefined();
    w.ack(0, a1.seq);
    expect(w.nextAssignment()?.offset).toBe(8);
  });

  it('append continues at the end; the stream is open-ended and regions can be re-sent', () => {
    const s = new Striper([{ id: 0, rate: 1 }], { chunkSize: 100 });
    expect(s.append(50)).toBe(0);
    expect(s.append(30)).toBe(50);
    s.enqueue(10, 5); // re-send an old region
    expect(s.end).toBe(80);
    const a = [s.nextAssignment()!, s.nextAssignment()!, s.nextAssignment()!];
    expect(a.map((x) => [x.offset, x.length])).toEqual([[0, 50], [50, 30], [10, 5]]);
  });

  it('moves a failed channel\'s chunks to survivors, first, and counts them as re-sent', () => {
    const s = new Striper([{ id: 0, rate: 1 }, { id: 1, rate: 1 }], { chunkSize: 10 });
    s.enqueue(0, 40);
    const a = [s.nextAssignment()!, s.nextAssignment()!];
    s.enqueue(100, 10);
    expect(s.failChannel(a[0]!.channel)).toBe(10);
    const next = s.nextAssignment()!;
    expect(next.offset).toBe(a[0]!.offset);
    expect(next.resend).toBe(true);
    expect(next.channel).toBe(a[1]!.channel);
    expect(s.stats().bytesResent).toBe(10);
    expect(s.stats().channels.find((c) => c.id === a[0]!.channel)!.alive).toBe(false);
  });

  it('losing every channel is a typed E_TRANSPORT failure', () => {
    const s = new Striper([{ id: 0, rate: 1 }, { id: 1, rate: 1 }], { chunkSize: 10 });
    s.enqueue(0, 30);
    s.nextAssignment();
    s.failChannel(0);
    let err: unknown;
    try {
      s.failChannel(1);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AllChannelsLostError);
    expect((err as AllChannelsLostError).code).toBe('E_TRANSPORT');
    expect((err as AllChannelsLostError).unacknowledgedBytes).toBe(30);
    expect(() => s.enqueue(0, 1)).toThrow(AllChannelsLostError);
  });

  it('a barrier waits for acks, and with fencing also for the failed channel\'s fence', () => {
    const s = new Striper([{ id: 0, rate: 1 }, { id: 1, rate: 1 }], { chunkSize: 10, fencing: true });
    s.enqueue(0, 20);
    const a0 = s.nextAssignment()!;
    const a1 = s.nextAssignment()!;
    const b = s.barrier();
    s.enqueue(0, 10); // newer data at the same offset
    expect(s.barrierPassed(b)).toBe(false);
    expect(s.nextAssignment()).toBeUndefined();
    s.ack(a1.channel, a1.seq);
    s.failChannel(a0.channel);
    const re = s.nextAssignment()!;
    expect(re.resend).toBe(true);
    s.ack(re.channel, re.seq);
    expect(s.barrierPassed(b)).toBe(false); // everything acked, but the dead channel is not fenced yet
    expect(s.nextAssignment()).toBeUndefined();
    expect(s.unfencedChannels()).toEqual([a0.channel]);
    s.fenceConfirmed(a0.channel);
    expect(s.barrierPassed(b)).toBe(true);
    expect(s.nextAssignment()?.offset).toBe(0);
  });

  it('rejects bad construction and bad regions with StateError', () => {
    expect(() => new Striper([], { chunkSize: 1 })).toThrow(/at least one channel/);
    expect(() => new Striper([{ id: 0, rate: 0 }], { chunkSize: 1 })).toThrow(/positive rate/);
    expect(() => new Striper([{ id: 0, rate: 1 }], { chunkSize: 0 })).toThrow(/chunkSize/);
    const s = new Striper([{ id: 0, rate: 1 }], { chunkSize: 1 });
    expect(() => s.enqueue(-1, 1)).toThrow(/offset/);
    expect(() => s.ack(9, 0)).toThrow(/unknown channel/);
  });
});
