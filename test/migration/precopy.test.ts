import { describe, expect, it } from 'vitest';
import { StateError } from '../../src/errors.js';
import { decide, POLICY_DEFAULTS, type PolicyConfig, type PolicyView } from '../../src/migration/policy.js';
import { PrecopyCore, type MemoryAction, type NoConvergeAction } from '../../src/migration/precopy.js';

const policy = (name: PolicyConfig['name'], o: Partial<PolicyConfig> = {}): PolicyConfig => ({ ...POLICY_DEFAULTS, name, ...o });

/**
 * A scripted driver: memory of `pages` pages, a link of `rate` pages/s, and `dirty(round)` pages pending
 * at each sync after round 0. Returns the actions the core asked for and its summary.
 */
function drive(o: { pages: number; rate: number; dirty: (round: number, throttle: number) => number; policy: PolicyConfig; onNoConverge?: NoConvergeAction }) {
  const core = new PrecopyCore({ memoryPages: o.pages, policy: o.policy, onNoConverge: o.onNoConverge ?? 'force', stateBytes: 4096 });
  let now = 0;
  let pending = 0;
  let syncs = 0;
  let throttle = 0;
  let pausedAt = 0;
  const actions: MemoryAction[] = [];
  let a = core.start();
  for (let steps = 0; a.type !== 'memory-done' && a.type !== 'memory-abort' && steps < 10_000; steps++) {
    actions.push(a);
    switch (a.type) {
      case 'sync':
        pending = syncs === 0 ? o.pages : a.final ? pending : o.dirty(syncs, throttle);
        syncs++;
        a = core.handle({ type: 'synced', now, pages: pending, zeroPages: 0 });
        break;
      case 'send':
      case 'send-final': {
        if (a.type === 'send') throttle = a.throttle;
        now += pending / o.rate;
        const pages = pending;
        pending = 0;
        a = core.handle({ type: 'sent', now, pages, zeroPages: 0, wireBytes: pages * 4104 + (a.type === 'send-final' ? 4096 : 0) });
        break;
      }
      case 'pause':
        pausedAt = now;
        a = core.handle({ type: 'paused', now });
        break;
    }
  }
  actions.push(a);
  return { actions, summary: core.summary(), blackout: now - pausedAt };
}

describe('pre-copy core', () => {
  it('walks the pre-copy rounds and the blackout for a converging guest', () => {
    const { actions, summary, blackout } = drive({ pages: 10_000, rate: 10_000, dirty: (r) => Math.floor(5000 / 4 ** (r - 1)), policy: policy('hyperv') });
    // 10k pages/s x 300 ms = 3000 pages fit the downtime limit: 5000 do not, 1250 do
    expect(actions.map((x) => x.type)).toEqual(['sync', 'send', 'sync', 'send', 'sync', 'pause', 'sync', 'send-final', 'memory-done']);
    expect(summary.converged).toBe(true);
    expect(summary.precopyRounds).toBe(2);
    expect(summary.rounds.map((r) => r.pages_sent)).toEqual([10_000, 5000, 1250]);
    expect(summary.rounds.map((r) => r.dirty_pages_after)).toEqual([5000, 1250, 0]);
    expect(summary.rounds.at(-1)!.phase).toBe('blackout');
    expect(blackout).toBeCloseTo(1250 / 10_000, 9);
    expect(summary.pausedAt).not.toBeNull();
  });

  it('hyperv forces the blackout after max passes when the guest does not converge', () => {
    const { summary } = drive({ pages: 10_000, rate: 1000, dirty: () => 5000, policy: policy('hyperv', { maxPasses: 5 }) });
    expect(summary.precopyRounds).toBe(5);
    expect(summary.converged).toBe(false);
    expect(summary.rounds.at(-1)!.phase).toBe('blackout');
  });

  it('aborts and stays on the source with reason no_convergence when asked to', () => {
    const { actions, summary } = drive({ pages: 10_000, rate: 1000, dirty: () => 5000, policy: policy('hyperv'), onNoConverge: 'abort' });
    expect(actions.at(-1)).toEqual({ type: 'memory-abort', reason: 'no_convergence' });
    expect(actions.some((a) => a.type === 'pause')).toBe(false);
    expect(summary.pausedAt).toBeNull();
    expect(summary.converged).toBe(false);
  });

  it('throttles 20% then +10% per round until the guest converges', () => {
    const { actions, summary } = drive({
      pages: 10_000,
      rate: 1000,
      dirty: (_r, throttle) => Math.round(5000 * (1 - throttle) ** 6),
      policy: policy('hyperv'),
      onNoConverge: 'throttle',
    });
    const throttles = actions.filter((a) => a.type === 'send').map((a) => (a as { throttle: number }).throttle);
    expect(throttles.slice(0, 5)).toEqual([0, 0, 0, 0, 0]);
    expect(throttles.slice(5)).toEqual(throttles.slice(5).map((_, i) => Math.min(0.99, Math.round((0.2 + 0.1 * i) * 100) / 100)));
    expect(summary.converged).toBe(true);
  });

  it('qemu switches over at pending <= bandwidth x downtime-limit, and auto-converge throttles a fast writer', () => {
    const { summary } = drive({ pages: 100_000, rate: 10_000, dirty: (r) => Math.floor(50_000 / 2 ** r), policy: policy('qemu', { downtimeLimit: 0.3 }) });
    // bandwidth 10k pages/s x 0.3 s = 3000 pages
    const last = summary.rounds.at(-1)!;
    expect(last.pages_sent).toBeLessThanOrEqual(3000);
    expect(summary.rounds.at(-2)!.pages_sent).toBeGreaterThan(3000);
    const ac = drive({ pages: 100_000, rate: 10_000, dirty: (_r, t) => Math.round(40_000 * (1 - t)), policy: policy('qemu', { autoConverge: true }) });
    expect(Math.max(...ac.summary.rounds.map((r) => r.throttle))).toBeGreaterThanOrEqual(0.2);
    expect(ac.summary.converged).toBe(true);
  });

  it('xen stops at 29 iterations, under 50 pages, or 3x memory sent', () => {
    const base: PolicyView = { rounds: 3, pendingPages: 100, pendingFullPages: 100, lastRoundPages: 49, bandwidth: 1e6, pagesSent: 10, memoryPages: 1000, bestPending: 100, roundsSinceBest: 0 };
    const x = policy('xen');
    expect(decide(x, base)).toBe('switchover');
    expect(decide(x, { ...base, lastRoundPages: 50 })).toBe('continue');
    expect(decide(x, { ...base, lastRoundPages: 500, rounds: 29 })).toBe('not-converging');
    expect(decide(x, { ...base, lastRoundPages: 500, pagesSent: 3001 })).toBe('not-converging');
    const q = policy('qemu');
    expect(decide(q, { ...base, pendingFullPages: 1e6, roundsSinceBest: 5 })).toBe('not-converging');
    expect(decide(q, { ...base, pendingFullPages: 1e6, roundsSinceBest: 4 })).toBe('continue');
  });

  it('rejects events out of order', () => {
    const core = new PrecopyCore({ memoryPages: 10, policy: policy('hyperv'), onNoConverge: 'force', stateBytes: 0 });
    expect(() => core.handle({ type: 'paused', now: 0 })).toThrow(StateError);
    core.start();
    expect(() => core.handle({ type: 'paused', now: 0 })).toThrow(/out of order/);
    expect(() => core.start()).toThrow(StateError);
  });
});
