// Issue 12, item 1: real migrations (guests writing their memory, disk writers, the core) received by one
// endpoint at the same time. The endpoint holds each handoff (a test hook) until the others are where the
// test wants them, so the migrations overlap by construction, not by speed: all complete and verify, and
// one that rolls back (its link lost, its source cancelled, its disk writes failing) takes only its own
// files with it.
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RealRun } from '../../../src/drivers/real/options.js';
import { fileSha256 } from '../../../src/guest/real/disk.js';
import type { ScenarioInput } from '../../../src/scenario.js';
import type { MigrationEndpoint } from '../../../src/drivers/real/endpoint.js';
import { remoteRun, startEndpoint, until } from './helpers.js';

/** Generous: a held migration waits at its handoff (paused) while the others get where the test wants. */
const SLOW = { transferTimeout: '120s' };
const MEMORY: ScenarioInput = { memory: '32MiB', workload: 'oltp', ...SLOW };
const STORAGE: ScenarioInput = { mode: 'shared-nothing', memory: '24MiB', disk: '32MiB', workload: 'oltp', writeIops: '1500', storageSegment: '4MiB', ...SLOW };

/** A gate the endpoint's held handoffs wait on: opened by the test, or after `ms` (the test then fails on its checks). */
function gate(ms = 90_000): { wait: () => Promise<void>; open: () => void } {
  let open!: () => void;
  const p = new Promise<void>((r) => {
    open = r;
    setTimeout(r, ms).unref();
  });
  return { wait: () => p, open };
}

/** Completed, verified, and the destination's files of this run are its own: config naming its VM, disk equal to the source's. */
function expectCompleted(r: RealRun, dir: string): string {
  expect(r.result).toMatchObject({ outcome: 'completed', vm_running_on: 'destination', verified: true, memory_verified: true, invariants_ok: true });
  // The source guest stopped at the pause: its memory now is the memory at the pause, hashed here anew.
  expect(r.source!.guest.ram.sha256()).toBe(r.measured.hashes.dest_ram);
  const configs = readdirSync(dir).filter((f) => f.endsWith('.vmcx'));
  const mine = configs.filter((f) => readFileSync(join(dir, f), 'utf8').includes(`"vm":"${f.slice(0, -'.vmcx'.length)}"`));
  expect(mine).toEqual(configs); // every config names its own VM
  if (r.measured.hashes.source_disk === null) return '';
  const disks = readdirSync(dir).filter((f) => f.endsWith('-disk0.img') && fileSha256(join(dir, f)).sha256 === r.measured.hashes.source_disk);
  expect(disks).toHaveLength(1);
  return disks[0]!;
}

/** Migrations the endpoint has set up so far. */
function counter(ep: MigrationEndpoint): { n: number } {
  const c = { n: 0 };
  ep.on('migration', (state: string) => state === 'created' && c.n++);
  return c;
}

function expectRolledBack(r: RealRun, cause: string): void {
  expect(r.result).toMatchObject({ outcome: 'rolled_back', rollback_reason: cause, vm_running_on: 'source', destination_files_left: 0, invariants_ok: true });
  expect(r.measured.source_intact.memory).toBe(true);
}

describe('one migrate-receiver, several real migrations at once', () => {
  it('three at once all complete, each verified byte for byte', async () => {
    const all = gate();
    const { ep, target, dir } = await startEndpoint({ maxIncoming: 3, holdHandoff: () => all.wait() });
    ep.on('migration', () => ep.peakInFlight === 3 && all.open());
    const runs = await Promise.all([0, 1, 2].map(() => remoteRun(MEMORY, target)));
    expect(ep.peakInFlight).toBe(3);
    for (const r of runs) expectCompleted(r, dir);
    expect(new Set(runs.map((r) => r.measured.hashes.dest_ram)).size).toBe(3);
    expect(readdirSync(dir).sort()).toHaveLength(3); // three configs, no marker left
    expect(readdirSync(dir).some((f) => f.endsWith('.migrating'))).toBe(false);
    expect(ep.inFlight).toBe(0);
    expect(ep.memoryHeld).toBe(0); // released after verification
  }, 240_000);

  it('one loses its link and one is cancelled mid-way: both roll back leaving nothing, the two others complete verified', async () => {
    const g = gate();
    const { ep, target, dir } = await startEndpoint({ holdHandoff: () => g.wait() });
    const created = counter(ep);
    // Two that complete, in flight (held at their handoff) while each of the others rolls back.
    const good = [remoteRun(MEMORY, target), remoteRun(MEMORY, target)];
    await until('two migrations set up', () => created.n === 2);
    const cancel = new AbortController();
    ep.on('migration', (state: string) => state === 'created' && created.n === 3 && cancel.abort()); // set up at the destination: cancel it
    const cancelled = await remoteRun(MEMORY, target, { signal: cancel.signal });
    expectRolledBack(cancelled, 'cancelled');
    expect(ep.inFlight).toBe(2);
    const lost = await remoteRun({ ...MEMORY, fault: ['link-down@precopy:0.3'] }, target);
    expectRolledBack(lost, 'link_down');
    expect(ep.inFlight).toBe(2);
    // Nothing of the two rolled back: the two others' configurations and markers only.
    expect(readdirSync(dir).filter((f) => f.endsWith('.vmcx'))).toHaveLength(2);
    expect(readdirSync(dir)).toHaveLength(4);
    g.open();
    for (const r of await Promise.all(good)) expectCompleted(r, dir);
    expect(readdirSync(dir)).toHaveLength(2);
  }, 240_000);

  it('shared-nothing, three at once with disks, one failing its disk writes: its files go; the others\' disks are distinct and verified', async () => {
    const g = gate();
    const { ep, target, dir } = await startEndpoint({ allowFaultInjection: true, holdHandoff: () => g.wait() });
    const created = counter(ep);
    const good = [remoteRun(STORAGE, target), remoteRun(STORAGE, target)];
    await until('two migrations set up', () => created.n === 2);
    expectRolledBack(await remoteRun({ ...STORAGE, fault: ['dest-storage-error@storage-copy:0.3'] }, target), 'dest_storage_error');
    expect(ep.inFlight).toBe(2);
    g.open();
    const runs = await Promise.all(good);
    const disks = runs.map((r) => expectCompleted(r, dir));
    expect(new Set(disks).size).toBe(2);
    for (const r of runs) expect(r.result.storage_bytes_copied).toBe(32 * 2 ** 20);
    expect(readdirSync(dir).sort()).toEqual(disks.flatMap((d) => [d, d.replace('-disk0.img', '.vmcx')]).sort());
  }, 240_000);
});
