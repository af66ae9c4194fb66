// The migration core through the drivers' loop, in a small model world (world.ts) that keeps its own
// account of where the VM runs, each host's files and the disk's writes.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { StateError } from '../../src/errors.js';
import { MigrationCore } from '../../src/migration/core.js';
import { FAULT_KINDS, type FaultKind } from '../../src/migration/faults.js';
import { MODES, type Mode } from '../../src/result.js';
import { RESTART, World, worldConfig, type Strike } from './world.js';

function run(mode: Mode, strikes: Strike[] = [], timing = {}): World {
  const w = new World(mode, strikes, timing);
  w.run();
  return w;
}

/** Every invariant, read off the world's own account (and the core's summary held against it). */
function expectInvariants(w: World): void {
  expect(w.core.done).toBe(true);
  const s = w.core.summary();
  const onSource = w.source === 'running';
  const onDest = w.dest === 'running';
  expect(onSource !== onDest, `exactly one host runs the VM (source ${w.source}, destination ${w.dest})`).toBe(true);
  expect(s.vmRunningOn).toBe(onDest ? 'destination' : 'source');
  expect(s.violations).toEqual([]);
  expect(w.sourceFilesRemovedEarly).toBe(false);
  if (s.outcome === 'rolled_back') {
    expect([...w.destFiles]).toEqual([]);
    expect(w.sourceFiles.size).toBe(2);
    expect(s.destinationFilesLeft).toBe(0);
  }
  // The VM's disk now in use holds every write the guest made.
  if (s.outcome === 'completed' && (w.mode === 'shared-nothing' || w.mode === 'storage')) expect(w.lostWrites()).toBe(0);
  if (w.resumeReached) expect(onDest).toBe(true);
}

const at = (step: number, kind: FaultKind, when = 0.5): Strike => ({ step, at: when, event: { type: 'fault', kind } });
const stepOf = (w: World, type: string) => w.steps.indexOf(type);

describe('MigrationCore', () => {
  it('runs each mode through its phases', () => {
    expect(run('cluster').steps).toEqual(['setup', 'sync', 'send', 'sync', 'pause', 'sync', 'send-final', 'handoff', 'resume', 'cleanup']);
    const sn = run('shared-nothing');
    expect(sn.steps).toEqual(['setup', 'copy-segment', 'copy-segment', 'copy-segment', 'sync', 'send', 'sync', 'pause', 'sync', 'send-final', 'handoff', 'resume', 'cleanup']);
    expect(sn.core.summary()).toMatchObject({ outcome: 'completed', vmRunningOn: 'destination', sourceFilesRemoved: 2, destinationFilesLeft: 0, violations: [], inDoubt: null });
    expect(Object.keys(sn.core.summary().phases)).toEqual(['config', 'storage-copy', 'precopy', 'blackout', 'handoff', 'resume', 'cleanup']);
    const st = run('storage');
    expect(st.steps).toEqual(['setup', 'copy-segment', 'copy-segment', 'copy-segment', 'handoff', 'cleanup']);
    expect(st.core.summary()).toMatchObject({ outcome: 'completed', vmRunningOn: 'source', sourceFilesRemoved: 2, pausedAt: null });
    for (const w of [sn, st]) expectInvariants(w);
  });

  it('rolls back before the resume request: the VM resumes on the source, the destination is cleaned', () => {
    const w = run('cluster', [at(7, 'dest-crash')]); // in the handoff
    expect(w.steps.slice(-2)).toEqual(['resume-source', 'clean-destination']);
    const s = w.core.summary();
    expect(s).toMatchObject({ outcome: 'rolled_back', rollbackReason: 'dest_crash', vmRunningOn: 'source', faultsApplied: 1 });
    // noticed half a second after it struck (detectTime), the rollback's clean-up waits for the restart
    expect(s.phases.handoff!.end).toBeCloseTo(s.handoffStart! + 0.5 + 0.5, 9);
    expect(s.finishedAt).toBeGreaterThanOrEqual(s.handoffStart! + 0.5 + RESTART);
    expectInvariants(w);
  });

  it('in doubt: a link lost after the resume request reached the destination leaves the move standing', () => {
    const w = run('shared-nothing', [at(11, 'link-down', 0.6)]);
    expect(w.steps.slice(11)).toEqual(['resume', 'query-owner', 'cleanup']);
    const s = w.core.summary();
    expect(s).toMatchObject({ outcome: 'completed', vmRunningOn: 'destination', rollbackReason: null, inDoubt: { cause: 'link_down', owner: 'destination' } });
    expect(w.resumeReached).toBe(true);
    expectInvariants(w);
  });

  it('in doubt: a link lost before the request arrived, or a crash with it in flight, rolls back; the destination fences the VM', () => {
    const lost = run('cluster', [at(8, 'link-down', 0.1)]);
    expect(lost.resumeReached).toBe(false);
    expect(lost.core.summary()).toMatchObject({ outcome: 'rolled_back', rollbackReason: 'link_down', inDoubt: { owner: 'source' } });
    expect(lost.fenced).toBe(true);
    const crash = run('cluster', [at(8, 'dest-crash', 0.1)]);
    const s = crash.core.summary();
    expect(s).toMatchObject({ outcome: 'rolled_back', rollbackReason: 'dest_crash', inDoubt: { owner: 'source' } });
    // the source waited for the destination's word: it resumed the VM only after the restart
    expect(s.runningAgainAt!).toBeGreaterThan(s.inDoubt!.since + RESTART - 1);
    for (const w of [lost, crash]) expectInvariants(w);
  });

  it('a stall past the transfer timeout at resume: in doubt until the stall ends, then the destination runs the VM', () => {
    const w = run('cluster', [at(8, 'stall', 0.1)], { stallTime: 8 });
    const s = w.core.summary();
    expect(s.inDoubt).toMatchObject({ cause: 'stall_timeout', owner: 'destination' });
    expect(s.inDoubt!.resolvedAt!).toBeGreaterThan(s.inDoubt!.since + 4);
    expectInvariants(w);
  });

  it('a stall shorter than the transfer timeout only delays (the core ends it); a longer one fails the transfer', () => {
    const short = run('cluster', [at(2, 'stall')], { stallTime: 1 });
    const clean = run('cluster');
    expect(short.core.summary().outcome).toBe('completed');
    expect(short.core.summary().finishedAt).toBeGreaterThan(clean.core.summary().finishedAt);
    const long = run('cluster', [at(2, 'stall')], { stallTime: 5 });
    expect(long.core.summary()).toMatchObject({ outcome: 'rolled_back', rollbackReason: 'stall_timeout' });
    for (const w of [short, long]) expectInvariants(w);
  });

  it('with no word from the destination within the bound the VM stays paused on the source, and says so', () => {
    const w = run('cluster', [at(8, 'dest-crash', 0.1)], { resolveTimeout: 2 });
    const s = w.core.summary();
    expect(w.source).toBe('paused');
    expect(s.outcome).toBe('rolled_back');
    expect(s.violations.join('; ')).toMatch(/in doubt: the destination did not say within 2 s/);
    expect(s.violations.join('; ')).toMatch(/runs on no host/);
  });

  it('after the point of no return a failure lets the move stand with the clean-up pending', () => {
    const w = run('shared-nothing', [{ step: 12, at: 0.1, event: { type: 'failure', cause: 'link_down' } }]);
    expect(w.core.summary()).toMatchObject({ outcome: 'completed', vmRunningOn: 'destination', cleanupPending: true, sourceFilesRemoved: 0 });
  });

  it('honours a cancel up to the blackout and ignores it from the handoff on', () => {
    const early = run('cluster', [{ step: 2, at: 0.5, event: { type: 'cancel' } }]);
    expect(early.core.summary()).toMatchObject({ outcome: 'rolled_back', rollbackReason: 'cancelled' });
    const late = run('cluster', [{ step: 7, at: 0.5, event: { type: 'cancel' } }]);
    expect(late.core.summary()).toMatchObject({ outcome: 'completed', rollbackReason: null });
    const core = new MigrationCore(worldConfig('cluster'));
    expect(core.cancelDecision()).toBe('accepted');
    for (const w of [early, late]) expectInvariants(w);
  });

  it('applies a fault only where its kind can strike, and not while a failure is on its way', () => {
    const w = run('cluster', [at(2, 'auth-failure'), at(3, 'dest-storage-error')]);
    const s = w.core.summary();
    expect(s.faultsApplied).toBe(1); // auth-failure only at config; the storage failure meets the handoff
    expect(s.rollbackReason).toBe('dest_storage_error');
    const twice = run('cluster', [at(2, 'link-down', 0.2), at(2, 'dest-crash', 0.4)]);
    expect(twice.core.summary()).toMatchObject({ faultsApplied: 1, rollbackReason: 'link_down' });
  });

  it('carries on with a rollback when a second failure arrives during it', () => {
    const w = run('cluster', [at(6, 'link-down'), { step: 7, at: 0.2, event: { type: 'failure', cause: 'dest_crash' } }]);
    const s = w.core.summary();
    expect(s.rollbackReason).toBe('link_down');
    expect(s.ignoredFailures).toEqual(['dest_crash']);
    expectInvariants(w);
  });

  it('rejects inconsistent configurations and out-of-order events', () => {
    expect(() => new MigrationCore({ ...worldConfig('cluster'), memory: null })).toThrow(StateError);
    expect(() => new MigrationCore({ ...worldConfig('cluster'), storage: worldConfig('storage').storage })).toThrow(StateError);
    const core = new MigrationCore(worldConfig('cluster'));
    core.start();
    expect(core.poll()).toEqual({ type: 'setup', configBytes: 100 });
    expect(() => core.handle({ type: 'resumed', now: 1 })).toThrow(/out of order/);
  });

  it('says when it next needs waking, and wakes to the deadline it armed', () => {
    const core = new MigrationCore(worldConfig('cluster'));
    core.start(0);
    core.poll();
    expect(core.pollTimeout()).toBeNull();
    core.handle({ type: 'fault', now: 2, kind: 'link-down' });
    expect(core.poll()).toMatchObject({ type: 'impair', kind: 'link-down', cuts: true });
    core.handle({ type: 'impaired', now: 2, kind: 'link-down', lost: true });
    expect(core.pollTimeout()).toBe(2.5);
    core.handleTimeout(2.4);
    expect(core.poll()).toBeUndefined();
    core.handleTimeout(2.5);
    expect(core.poll()).toEqual({ type: 'clean-destination', cause: 'link_down' });
  });
});

describe('MigrationCore invariants (property)', () => {
  const strikeArb = (maxStep: number) =>
    fc.record({
      step: fc.integer({ min: 0, max: maxStep }),
      at: fc.double({ min: 0.05, max: 0.95, noNaN: true }),
      event: fc.oneof(
        fc.constantFrom(...FAULT_KINDS).map((kind) => ({ type: 'fault' as const, kind })),
        fc.constantFrom('link_down' as const, 'dest_crash' as const, 'cancelled' as const).map((cause) => ({ type: 'failure' as const, cause })),
        fc.constant({ type: 'cancel' as const }),
      ),
    });

  it('any mode, any step at which any fault strikes, and a second failure during the rollback: every invariant holds', () => {
    fc.assert(
      fc.property(fc.constantFrom(...MODES), strikeArb(14), fc.option(strikeArb(20), { nil: undefined }), fc.constantFrom(1, 5, 8), (mode, first, second, stallTime) => {
        const strikes = [first, ...(second ? [second] : [])];
        const w = run(mode, strikes, { stallTime });
        expectInvariants(w);
        const s = w.core.summary();
        if (s.outcome === 'completed' && mode !== 'storage') expect(w.source).not.toBe('running');
        if (stepOf(w, 'query-owner') >= 0) expect(s.inDoubt).not.toBeNull();
      }),
      { numRuns: 1500, seed: 20261203 },
    );
  });
});
