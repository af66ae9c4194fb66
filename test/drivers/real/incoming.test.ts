// Issue 12, item 1: the destination's admission of migrations (incoming.ts) against an endpoint in this
// process, with sources driven step by step (raw-source.ts) so that "at the same time" is certain, not a
// matter of speed: the --max-incoming limit (also against a flood from several loopback addresses), a
// duplicate id, requests naming another session's migration, the memory budget over every migration, the
// reserve and staging rings never shared, and the markers a restarted destination sweeps.
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { PROTOCOL_VERSION } from '../../../src/drivers/real/protocol.js';
import { remoteRun, startEndpoint, tempDir, until } from './helpers.js';
import { adminAsk, outcome, rawLink, RawMigration } from './raw-source.js';

const MiB = 2 ** 20;

describe('--max-incoming', () => {
  it('a flood of hellos from several loopback addresses gets the limit, and locks nobody out once it has gone', async () => {
    const { ep, target, dir } = await startEndpoint({ maxIncoming: 2 });
    const flood = Array.from({ length: 12 }, (_, i) => new RawMigration(target, { ram: 2 * MiB, localAddress: `127.0.0.${2 + (i % 4)}`, channels: 1 }));
    const said = await Promise.all(flood.map((m) => m.hello()));
    expect(said.filter((s) => s === 'accepted')).toHaveLength(2);
    const refused = said.filter((s) => s !== 'accepted');
    expect(refused).toHaveLength(10);
    for (const r of refused) expect(r).toMatch(/already receives 2 migration\(s\), its limit \(migrate-receiver --max-incoming 2\)/);
    expect(ep.inFlight).toBe(2);
    // They go away: the two accepted ones are rolled back by the destination (every channel closed).
    for (const m of flood) m.close();
    await until('the flood to be gone', () => ep.inFlight === 0 && readdirSync(dir).length === 0);
    // A legitimate migration is taken and completes, verified.
    const r = await remoteRun({ memory: '16MiB', workload: 'web' }, target);
    expect(r.result).toMatchObject({ outcome: 'completed', verified: true, memory_verified: true });
    expect(r.source!.guest.ram.sha256()).toBe(r.measured.hashes.dest_ram);
  }, 120_000);

  it('a duplicate (replayed) migration id is refused without harming the running migration, which completes verified', async () => {
    const { target, dir } = await startEndpoint({ maxIncoming: 4 });
    const a = new RawMigration(target, { ram: 4 * MiB, disk: 2 * MiB, packets: 2 });
    expect(await a.hello()).toBe('accepted');
    await a.send();
    const dup = new RawMigration(target, { ram: 4 * MiB, disk: 2 * MiB, id: a.id });
    expect(await dup.hello()).toMatch(new RegExp(`migration ${a.id} is already in progress on this destination \\(a duplicate or replayed hello\\)`));
    // The refused source rolls back as `migrate` does: abort over its session. Nothing of A is touched.
    expect((await dup.request({ t: 'abort', id: a.id })).filesLeft).toBe(3);
    // Nor can it drive or read A over its session.
    expect(await outcome(dup.request({ t: 'handoff' }))).toMatch(/no migration on this session/);
    expect(await outcome(dup.request({ t: 'resume' }))).toMatch(/no migration on this session/);
    expect(await outcome(dup.request({ t: 'verify', id: a.id }))).toMatch(/had its hello for migration .* refused: it cannot address migration/);
    expect(await outcome(dup.request({ t: 'release', id: a.id }))).toMatch(/cannot address migration/);
    // Another migration's session cannot address A either, and one session carries one migration.
    const c = new RawMigration(target, { ram: 2 * MiB });
    expect(await c.hello()).toBe('accepted');
    expect(await outcome(c.request({ t: 'abort', id: a.id }))).toMatch(new RegExp(`this session carries migration ${c.id}: it cannot address migration ${a.id}`));
    expect(await outcome(c.request({ t: 'hello', kind: 'admin', version: PROTOCOL_VERSION }))).toMatch(/this session already said hello \(migrate/);
    // A still completes, byte for byte.
    await a.switchOver();
    expect(await a.finish()).toEqual(a.expected());
    expect(readdirSync(dir).filter((f) => f.startsWith(a.vm)).sort()).toEqual([`${a.vm}-disk0.img`, `${a.vm}.vmcx`]);
  }, 60_000);
});

describe('the memory budget (--max-memory) is over every migration at once', () => {
  it('refuses a migration that does not fit beside the ones held, saying why; the one in flight completes verified', async () => {
    const { ep, target, logs } = await startEndpoint({ maxMemory: 48 * MiB });
    const a = new RawMigration(target, { ram: 32 * MiB, packets: 4 });
    expect(await a.hello()).toBe('accepted');
    // A real migration of 32 MiB more: refused before anything is written, its guest runs on, intact.
    const input = { memory: '32MiB', workload: 'oltp' };
    const r = await remoteRun(input, target);
    expect(r.result).toMatchObject({ outcome: 'rolled_back', rollback_reason: 'dest_refused', vm_running_on: 'source', destination_files_left: 0, invariants_ok: true });
    expect(r.measured.failure?.message).toMatch(/guest memory of 32 MiB does not fit this destination's memory budget \(migrate-receiver --max-memory 48 MiB\): 32 MiB held by 1 other migration\(s\)/);
    expect(r.measured.source_intact.memory).toBe(true);
    // Larger than the whole budget alone.
    expect(await new RawMigration(target, { ram: 64 * MiB }).hello()).toMatch(/guest memory of 64 MiB \(67108864 bytes\) is more than this destination accepts \(migrate-receiver --max-memory 48 MiB\)/);
    await a.send();
    await a.switchOver();
    await a.request({ t: 'done', id: a.id });
    expect(await a.request({ t: 'verify', id: a.id })).toMatchObject(a.expected());
    // Completed and not yet released: its memory goes to make room for a new migration, hashed first
    // (logged); its verification still answers, from those hashes. A migration in flight never loses its
    // memory that way.
    const b = new RawMigration(target, { ram: 32 * MiB, packets: 4 });
    expect(await b.hello()).toBe('accepted');
    expect(logs.join('\n')).toMatch(new RegExp(`made room: completed migration ${a.id}'s memory \\(33554432 bytes\\) hashed in [\\d.]+ s and released`));
    expect(ep.memoryHeld).toBe(32 * MiB);
    expect(await a.request({ t: 'verify', id: a.id })).toMatchObject(a.expected());
    const regions = await a.request({ t: 'verify', id: a.id, regions: true });
    expect(regions.ramRegions).toHaveLength(32);
    expect(await new RawMigration(target, { ram: 32 * MiB }).hello()).toMatch(/does not fit .*32 MiB held by 1 other migration/);
    // Its source releases it: nothing of it is kept; B completes verified.
    await a.request({ t: 'release', id: a.id });
    expect(await outcome(a.request({ t: 'verify', id: a.id }))).toMatch(/no memory of migration/);
    await b.send();
    await b.switchOver();
    expect(await b.finish()).toEqual(b.expected());
  }, 90_000);

  it('a drain bigger than the budget: each completed VM hashed when the next needs its room, and every one verifies', async () => {
    const { target, logs } = await startEndpoint({ maxMemory: 24 * MiB, maxIncoming: 4 });
    const vms = [0, 1, 2, 3].map(() => new RawMigration(target, { ram: 16 * MiB, disk: 2 * MiB, packets: 2 }));
    for (const v of vms) {
      expect(await v.hello()).toBe('accepted');
      await v.send();
      await v.switchOver();
      await v.request({ t: 'done', id: v.id });
    }
    expect(logs.filter((l) => /made room: completed migration/.test(l))).toHaveLength(3);
    // Verified after the whole drain, as evacuate --engine real does: three from kept hashes, one from memory.
    for (const v of vms) {
      expect(await v.request({ t: 'verify', id: v.id })).toMatchObject(v.expected());
      await v.request({ t: 'release', id: v.id });
    }
  }, 90_000);
});

describe('per-migration memory', () => {
  it('two migrations at once: each its own staging ring and reserve share; memory reused from the reserve is zeroed again', async () => {
    // One reserve block fits one 16 MiB VM; the second migration at once gets fresh memory.
    const { target, logs } = await startEndpoint({ reserve: 16 * MiB });
    const a = new RawMigration(target, { ram: 16 * MiB, packets: 16 });
    const b = new RawMigration(target, { ram: 16 * MiB, packets: 16 });
    expect(await a.hello()).toBe('accepted');
    expect(await b.hello()).toBe('accepted');
    expect(logs.filter((l) => /from the reserve/.test(l))).toHaveLength(1);
    // Page packets of both in flight at once, into the same slots of their own staging rings.
    await Promise.all([a.send(), b.send()]);
    await Promise.all([a.switchOver(), b.switchOver()]);
    expect(await a.finish()).toEqual(a.expected());
    expect(await b.finish()).toEqual(b.expected());
    // The reserve again, after the first VM wrote all of it: zeroed (8 MiB of this VM's memory are never sent).
    const c = new RawMigration(target, { ram: 16 * MiB, packets: 4, unsent: 8 * MiB });
    expect(await c.hello()).toBe('accepted');
    expect(logs.filter((l) => / created /.test(l)).at(-1)).toMatch(new RegExp(`${c.vm} created \\(16777216 bytes of memory, 16777216 from the reserve`));
    await c.send();
    await c.switchOver();
    expect(await c.finish()).toEqual(c.expected());
  }, 60_000);
});

describe('markers: a restarted destination removes every interrupted migration, and only that', () => {
  it('sweeps each marker\'s own files, never a completed VM\'s or a name outside its VM', async () => {
    const dir = tempDir('migbench-sweep-');
    const done = 'vm-00000000000000aa';
    const b = 'vm-00000000000000bb';
    const c = 'vm-00000000000000cc';
    for (const f of [`${done}.vmcx`, `${done}-disk0.img`, `${b}.vmcx`, `${b}-disk0.img`, `${c}.vmcx`]) writeFileSync(join(dir, f), f);
    // B's marker is damaged: besides its own files it names the completed VM's and one outside the directory.
    const outside = `outside-${basename(dir)}`;
    writeFileSync(join(dir, `${b}.migrating`), JSON.stringify({ files: [`${b}.vmcx`, `${b}-disk0.img`, `${done}.vmcx`, `../${outside}`] }));
    writeFileSync(join(dir, `${c}.migrating`), JSON.stringify({ files: [`${c}.vmcx`] }));
    writeFileSync(join(dir, '..', outside), 'not a VM file');
    const { logs } = await startEndpoint({ dir });
    expect(readdirSync(dir).sort()).toEqual([`${done}-disk0.img`, `${done}.vmcx`]);
    expect(readFileSync(join(dir, `${done}.vmcx`), 'utf8')).toBe(`${done}.vmcx`);
    expect(existsSync(join(dir, '..', outside))).toBe(true);
    rmSync(join(dir, '..', outside));
    expect(logs.join('\n')).toMatch(/lists "vm-00000000000000aa.vmcx", not a file of vm-00000000000000bb: left alone/);
    expect(logs.filter((l) => /removed \d file\(s\) of an interrupted migration/.test(l))).toHaveLength(2);
  });

  it('an administrative session may end a migration whose own session still lives (the source lost it), by id', async () => {
    const { target, dir } = await startEndpoint();
    const a = new RawMigration(target, { ram: 2 * MiB, disk: MiB });
    expect(await a.hello()).toBe('accepted');
    expect((await adminAsk(target, { t: 'abort', id: a.id })).filesLeft).toBe(0);
    expect(readdirSync(dir)).toEqual([]);
    expect(await outcome(a.request({ t: 'resume' }))).toMatch(/cannot resume here: it is aborted/);
    const b = new RawMigration(target, { ram: 2 * MiB });
    expect(await b.hello()).toBe('accepted');
    expect(await outcome(adminAsk(target, { t: 'release', id: b.id }))).toMatch(/is in progress: its memory goes when it ends/);
    const { link } = await rawLink(target);
    expect(await outcome(link.request({ t: 'status', id: a.id }))).toMatch(/no hello on this session/);
  });
});

describe('scratch migrations (calibration, benches) leave nothing on the destination', () => {
  it("a scratch move's files go when its source releases it verified; a kept move's stay", async () => {
    const { target, dir, logs } = await startEndpoint({ maxIncoming: 4 });
    const scratch = await remoteRun({ memory: '8MiB', workload: 'web', mode: 'shared-nothing', disk: '4MiB' }, target, { scratch: true });
    expect(scratch.result).toMatchObject({ outcome: 'completed', verified: true });
    const kept = await remoteRun({ memory: '8MiB', workload: 'web', mode: 'shared-nothing', disk: '4MiB' }, target);
    expect(kept.result).toMatchObject({ outcome: 'completed', verified: true });
    const vmOf = (r: typeof scratch) => r.measured.vm;
    await until('the scratch VM released', () => logs.some((l) => /scratch VM removed/.test(l)));
    expect(readdirSync(dir).filter((f) => f.startsWith(vmOf(scratch)))).toEqual([]);
    expect(readdirSync(dir).filter((f) => f.startsWith(vmOf(kept))).sort()).toEqual([`${vmOf(kept)}-disk0.img`, `${vmOf(kept)}.vmcx`]);
    expect(logs.find((l) => l.includes('scratch VM removed'))).toMatch(/2 file\(s\) of its scratch VM removed/);
  }, 60_000);

  it('a release of a scratch migration still in flight is refused and removes nothing; released once complete, its files go', async () => {
    const { target, dir } = await startEndpoint({ maxIncoming: 4 });
    const a = new RawMigration(target, { ram: 4 * MiB, disk: 2 * MiB, packets: 2, scratch: true });
    expect(await a.hello()).toBe('accepted');
    expect(await outcome(a.request({ t: 'release', id: a.id }))).toMatch(/is in progress: its memory goes when it ends/);
    expect(readdirSync(dir).filter((f) => f.startsWith(a.vm)).length).toBeGreaterThan(0);
    await a.send();
    await a.switchOver();
    expect(await a.finish()).toEqual(a.expected());
    expect(readdirSync(dir).filter((f) => f.startsWith(a.vm))).toEqual([]);
  }, 60_000);
});

describe('making room for two hellos at once', () => {
  it('both are admitted, each completed VM is hashed once, and none loses its memory unhashed', async () => {
    // 64 MiB: hashing one yields to the event loop (every 16 MiB), so the second hello is read meanwhile.
    const { target, logs } = await startEndpoint({ maxMemory: 128 * MiB, maxIncoming: 4 });
    const done = [0, 1].map(() => new RawMigration(target, { ram: 64 * MiB, packets: 2 }));
    for (const v of done) {
      expect(await v.hello()).toBe('accepted');
      await v.send();
      await v.switchOver();
      await v.request({ t: 'done', id: v.id });
    }
    // Two new ones at once: each needs one completed VM's room; both name the oldest first.
    const next = [0, 1].map(() => new RawMigration(target, { ram: 64 * MiB }));
    await Promise.all(next.map((v) => v.open()));
    expect(await Promise.all(next.map((v) => v.hello()))).toEqual(['accepted', 'accepted']);
    expect(logs.filter((l) => /made room: completed migration/.test(l)), logs.join('\n')).toHaveLength(2);
    for (const v of done) expect(await v.request({ t: 'verify', id: v.id })).toMatchObject(v.expected());
  }, 60_000);
});

describe("the destination's CPU per migration", () => {
  it("a migration alone gets its CPU seconds in the done reply; two at once get none (they shared the process)", async () => {
    const { target } = await startEndpoint({ maxIncoming: 4 });
    const lone = new RawMigration(target, { ram: 8 * MiB, packets: 2 });
    expect(await lone.hello()).toBe('accepted');
    await lone.send();
    await lone.switchOver();
    const cpu = (await lone.request({ t: 'done', id: lone.id })).cpuSeconds;
    expect(typeof cpu).toBe('number');
    expect(cpu!).toBeGreaterThanOrEqual(0);
    const two = [0, 1].map(() => new RawMigration(target, { ram: 8 * MiB }));
    for (const v of two) expect(await v.hello()).toBe('accepted');
    for (const v of two) {
      await v.send();
      await v.switchOver();
      expect((await v.request({ t: 'done', id: v.id })).cpuSeconds).toBeNull();
    }
  }, 60_000);
});

describe('room that cannot be made', () => {
  it('a hello that would not fit even with every completed VM freed is refused, and frees none', async () => {
    const { ep, target, logs } = await startEndpoint({ maxMemory: 24 * MiB, maxIncoming: 4 });
    const a = new RawMigration(target, { ram: 16 * MiB, packets: 2 });
    expect(await a.hello()).toBe('accepted');
    await a.send();
    await a.switchOver();
    await a.request({ t: 'done', id: a.id });
    const b = new RawMigration(target, { ram: 8 * MiB });
    expect(await b.hello()).toBe('accepted');
    // 20 MiB would need B's memory too (in flight), A's 16 are not enough: refused, A's memory untouched.
    expect(await new RawMigration(target, { ram: 20 * MiB }).hello()).toMatch(/does not fit this destination's memory budget .*: 24 MiB held by 2 other migration/);
    expect(ep.memoryHeld).toBe(24 * MiB);
    expect(logs.join('\n')).not.toMatch(/made room/);
    expect(await a.finish()).toEqual(a.expected());
  }, 60_000);
});

describe("a refusal is the destination's answer", () => {
  it('a verify the destination refuses (its memory already released) fails the verification at once, not after retrying for minutes', async () => {
    const { ep, target } = await startEndpoint({ maxIncoming: 4 });
    let id = '';
    ep.on('migration', (state: string, mid: string) => {
      if (state === 'created') id = mid;
    });
    // Someone with the key releases the migration before its source verifies it.
    const r = await remoteRun({ memory: '8MiB', workload: 'web' }, target, { beforeVerify: async () => void (await adminAsk(target, { t: 'release', id })) });
    expect(r.result).toMatchObject({ outcome: 'completed', vm_running_on: 'destination', verified: false });
    expect(r.result.invariant_violations).toMatch(/could not verify the destination: the destination refused: no memory of migration/);
  }, 30_000);
});
