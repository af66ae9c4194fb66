// The end of a real migration: faults late in the blackout, at the handoff, and at `resume` (the resume
// request has reached the destination, its answer has not come back). Before the resume request leaves,
// a fault rolls back; with it out, the source never resumes the guest on its own: it asks the destination
// which host runs the VM, and the destination's word decides. Whichever way, exactly one host runs the VM,
// and the hashes prove it intact there.
import { describe, expect, it } from 'vitest';
import type { ScenarioInput } from '../../../src/scenario.js';
import { expectMovedIntact, expectSourceIntact, realRun } from './helpers.js';

const MEMORY: ScenarioInput = { memory: '64MiB', workload: 'oltp' };
const STORAGE: ScenarioInput = { mode: 'shared-nothing', memory: '48MiB', disk: '32MiB', workload: 'oltp', writeIops: '1500', storageSegment: '4MiB' };
const STALL = { stallTime: '2s', transferTimeout: '0.5s' };

describe('real faults late in the blackout and at the handoff roll back: the guest resumes on the source, intact', () => {
  it.each([
    ['link-down@blackout:0.9', MEMORY, 'link_down'],
    ['dest-crash@blackout:0.9', STORAGE, 'dest_crash'],
    ['stall@blackout:0.9', MEMORY, 'stall_timeout'],
    ['link-down@handoff', STORAGE, 'link_down'],
    ['dest-crash@handoff', MEMORY, 'dest_crash'],
    ['stall@handoff', STORAGE, 'stall_timeout'],
  ] as const)('%s', async (fault, base, cause) => {
    const input: ScenarioInput = { ...base, fault: [fault], ...(fault.startsWith('stall') ? STALL : {}) };
    const r = await realRun(input);
    expect(r.result.rollback_reason).toBe(cause);
    expect(r.result.downtime_ms).toBeGreaterThan(0); // paused, then resumed on the source
    expect(r.measured.in_doubt).toBeNull();
    await expectSourceIntact(r, input);
  });
});

describe('real faults at resume: in doubt, the destination decides', () => {
  it('dest-crash@resume: the destination crashes as the request arrives, never runs the VM, says so after its restart; the guest resumes on the source', async () => {
    for (const base of [MEMORY, STORAGE]) {
      const input: ScenarioInput = { ...base, fault: ['dest-crash@resume'] };
      const r = await realRun(input);
      expect(r.result.rollback_reason).toBe('dest_crash');
      expect(r.measured.in_doubt).toMatchObject({ cause: 'dest_crash', owner: 'source' });
      await expectSourceIntact(r, input);
    }
  });

  it('link-down@resume: the request had arrived, so the destination runs the VM; the move stands, verified', async () => {
    for (const base of [MEMORY, STORAGE]) {
      const r = await realRun({ ...base, fault: ['link-down@resume'] });
      expect(r.result.faults_applied).toBe(1);
      expect(r.measured.in_doubt).toMatchObject({ owner: 'destination' });
      expectMovedIntact(r);
    }
  });

  it('stall@resume past the transfer timeout: the move stands once the destination answers, verified', async () => {
    const r = await realRun({ ...STORAGE, fault: ['stall@resume'], ...STALL });
    expect(r.result.faults_applied).toBe(1);
    // The request reached a stopped destination: no answer within the timeout, then its word once it goes on.
    expect(r.measured.in_doubt).toMatchObject({ cause: 'stall_timeout', owner: 'destination' });
    expect(r.measured.in_doubt!.resolved_s! - r.measured.in_doubt!.since_s).toBeGreaterThan(1);
    expectMovedIntact(r);
  });
});
