import { describe, expect, it } from 'vitest';
import { StateError } from '../../src/errors.js';
import { POLICY_DEFAULTS } from '../../src/migration/policy.js';
import { MigrationCore, type Action, type Cause, type Event, type MigrationConfig } from '../../src/migration/orchestrator.js';
import type { Mode } from '../../src/result.js';

const memory = { memoryPages: 100, policy: { ...POLICY_DEFAULTS, name: 'hyperv' as const }, onNoConverge: 'force' as const, stateBytes: 10 };
const config = (mode: Mode): MigrationConfig => ({
  mode,
  memory: mode === 'storage' ? null : memory,
  storage: mode === 'shared-nothing' || mode === 'storage' ? { regions: 30, segmentRegions: 10, boundaries: [], destFiles: 2, sourceFiles: 2 } : null,
  configBytes: 100,
});

/** Answer each action at t+1; inject `fail` when the n-th action is issued. */
function run(mode: Mode, fail?: { at: (a: Action, i: number) => boolean; cause: Cause; also?: Cause }) {
  const core = new MigrationCore(config(mode));
  const log: string[] = [];
  let t = 0;
  let a = core.start(t);
  let pending = 0;
  let failed = false;
  for (let i = 0; a.type !== 'done' && i < 500; i++) {
    log.push(a.type);
    t += 1;
    if (fail && !failed && fail.at(a, i)) {
      failed = true;
      a = core.handle({ type: 'failure', now: t, cause: fail.cause });
      if (fail.also) {
        log.push(a.type);
        const again = core.handle({ type: 'failure', now: t, cause: fail.also });
        expect(again.type).toBe('continue');
      }
      continue;
    }
    const ev: Event = (() => {
      switch (a.type) {
        case 'setup':
          return { type: 'setup-done', now: t };
        case 'copy-segment':
          return { type: 'segment-copied', now: t };
        case 'sync':
          pending = pending === 0 && !a.final ? 100 : 0;
          return { type: 'synced', now: t, pages: log.filter((x) => x === 'sync').length === 1 ? 100 : 0, zeroPages: 0 };
        case 'send':
        case 'send-final':
          return { type: 'sent', now: t, pages: 100, zeroPages: 0, wireBytes: 410_000 };
        case 'pause':
          return { type: 'paused', now: t };
        case 'handoff':
          return { type: 'handed-off', now: t };
        case 'resume':
          return { type: 'resumed', now: t };
        case 'cleanup':
          return { type: 'cleaned-up', now: t };
        case 'resume-source':
          return { type: 'resumed-source', now: t };
        case 'clean-destination':
          return { type: 'destination-cleaned', now: t };
        default:
          throw new Error(`unexpected ${a.type}`);
      }
    })();
    a = core.handle(ev);
  }
  return { log, summary: core.summary() };
}

describe('migration orchestrator', () => {
  it('runs each mode through its phases', () => {
    expect(run('cluster').log).toEqual(['setup', 'sync', 'send', 'sync', 'pause', 'sync', 'send-final', 'handoff', 'resume', 'cleanup']);
    const sn = run('shared-nothing');
    expect(sn.log).toEqual(['setup', 'copy-segment', 'copy-segment', 'copy-segment', 'sync', 'send', 'sync', 'pause', 'sync', 'send-final', 'handoff', 'resume', 'cleanup']);
    expect(sn.summary).toMatchObject({ outcome: 'completed', vmRunningOn: 'destination', sourceFilesRemoved: 2, destinationFilesLeft: 0, violations: [] });
    expect(Object.keys(sn.summary.phases)).toEqual(['config', 'storage-copy', 'precopy', 'blackout', 'handoff', 'cleanup']);
    const st = run('storage');
    expect(st.log).toEqual(['setup', 'copy-segment', 'copy-segment', 'copy-segment', 'handoff', 'cleanup']);
    expect(st.summary).toMatchObject({ outcome: 'completed', vmRunningOn: 'source', sourceFilesRemoved: 2, pausedAt: null });
  });

  it('rolls back before the point of no return: the VM stays or resumes on the source, the destination is cleaned', () => {
    const during = run('shared-nothing', { at: (a) => a.type === 'copy-segment', cause: 'dest_storage_error' });
    expect(during.log.slice(-1)).toEqual(['clean-destination']);
    expect(during.summary).toMatchObject({ outcome: 'rolled_back', rollbackReason: 'dest_storage_error', vmRunningOn: 'source', destinationFilesLeft: 0, sourceFilesRemoved: 0, violations: [] });
    const paused = run('cluster', { at: (a) => a.type === 'handoff', cause: 'dest_crash' });
    expect(paused.log.slice(-2)).toEqual(['resume-source', 'clean-destination']);
    expect(paused.summary).toMatchObject({ outcome: 'rolled_back', vmRunningOn: 'source', violations: [] });
    expect(paused.summary.runningAgainAt).toBeGreaterThan(paused.summary.pausedAt!);
  });

  it('after the point of no return lets the move stand and leaves the clean-up pending', () => {
    const r = run('shared-nothing', { at: (a) => a.type === 'cleanup', cause: 'link_down' });
    expect(r.summary).toMatchObject({ outcome: 'completed', vmRunningOn: 'destination', cleanupPending: true, sourceFilesRemoved: 0, violations: [] });
  });

  it('carries on with a rollback when a second failure arrives during it', () => {
    const r = run('cluster', { at: (a) => a.type === 'send-final', cause: 'link_down', also: 'dest_crash' });
    expect(r.summary.rollbackReason).toBe('link_down');
    expect(r.summary.ignoredFailures).toEqual(['dest_crash']);
    expect(r.summary.outcome).toBe('rolled_back');
  });

  it('rejects inconsistent configurations and out-of-order events', () => {
    expect(() => new MigrationCore({ ...config('cluster'), memory: null })).toThrow(StateError);
    expect(() => new MigrationCore({ ...config('cluster'), storage: config('storage').storage })).toThrow(StateError);
    const core = new MigrationCore(config('cluster'));
    core.start();
    expect(() => core.handle({ type: 'resumed', now: 1 })).toThrow(/out of order/);
  });
});
