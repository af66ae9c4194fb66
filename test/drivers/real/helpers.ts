// Real-engine tests: loopback only, small guests, temporary directories and source handles released
// after each test (also when it fails).
import { afterEach, expect } from 'vitest';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrateReal } from '../../../src/drivers/real/driver.js';
import type { RealOptions, RealRun } from '../../../src/drivers/real/options.js';
import { expectedDiskSha256, fileSha256 } from '../../../src/guest/real/disk.js';
import { resolveScenario, type ScenarioInput } from '../../../src/scenario.js';
import { randomBytes } from 'node:crypto';
import { MigrationEndpoint, type EndpointOptions } from '../../../src/drivers/real/endpoint.js';
import type { Endpoint } from '../../../src/transport/tcp/address.js';

const dirs: string[] = [];
const runs: RealRun[] = [];
const endpoints: MigrationEndpoint[] = [];

afterEach(async () => {
  for (const e of endpoints.splice(0)) await e.close();
  for (const r of runs.splice(0)) await r.source?.release();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

export function tempDir(prefix = 'migbench-real-test-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

export interface TestRun extends RealRun {
  destDir: string;
  /** Files of this run's VM left in the destination directory. */
  destFiles(): string[];
}

/** One real migration on loopback into a temporary destination directory; the source is kept for checks. */
export async function realRun(input: ScenarioInput, o: Partial<RealOptions> = {}): Promise<TestRun> {
  const destDir = o.destDir ?? tempDir('migbench-real-dest-');
  const run = await migrateReal({ scenario: resolveScenario(input), channels: 2, probeBytes: 0, destDir, keepSource: true, ...o });
  runs.push(run);
  return { ...run, destDir, destFiles: () => readdirSync(destDir) };
}

/** The guest still runs on the source, and its memory (and disk) hold exactly its own writes. */
export async function expectSourceIntact(r: TestRun, input: ScenarioInput): Promise<void> {
  const src = r.source!;
  const before = src.guest.writes;
  await new Promise((res) => setTimeout(res, 150));
  expect(src.guest.writes).toBeGreaterThan(before); // running
  await src.guest.pause();
  const mem = src.guest.checkIntact();
  expect(mem.ok).toBe(true);
  if (src.disk) {
    await src.disk.pause();
    const s = resolveScenario(input);
    const spec = { bytes: s.vm.files[1]!.size, allocated: 1, seed: s.seed, io: s.workload.io };
    expect(fileSha256(src.diskPath!).sha256).toBe(expectedDiskSha256(spec, src.disk.counts.writes));
  }
  expect(r.destFiles()).toEqual([]);
  expect(r.result).toMatchObject({ outcome: 'rolled_back', vm_running_on: 'source', verified: null, memory_verified: null, invariants_ok: true, destination_files_left: 0, source_files_removed: 0, faults_applied: 1 });
  expect(r.measured.source_intact.memory).toBe(true);
}

/** The VM runs on the destination, and the destination's memory (and disk) equal the source's at the pause. */
export function expectMovedIntact(r: TestRun): void {
  expect(r.result).toMatchObject({ outcome: 'completed', vm_running_on: 'destination', verified: true, memory_verified: true, invariants_ok: true });
  const src = r.source!;
  // The source guest stopped at the pause: its memory now is the memory at the pause, hashed here anew.
  expect(src.guest.ram.sha256()).toBe(r.measured.hashes.dest_ram);
  const destDisk = r.destFiles().find((f) => f.endsWith('-disk0.img'));
  if (src.diskPath !== null || destDisk !== undefined) expect(fileSha256(join(r.destDir, destDisk!)).sha256).toBe(r.measured.hashes.source_disk);
}

/** One real migration to a destination already listening (an in-process endpoint, a migrate-receiver). */
export async function remoteRun(input: ScenarioInput, to: { endpoint: Endpoint; key: Buffer }, o: Partial<RealOptions> = {}): Promise<RealRun> {
  const run = await migrateReal({ scenario: resolveScenario(input), channels: 2, probeBytes: 0, to: [to.endpoint], key: to.key, keepSource: true, ...o });
  runs.push(run);
  return run;
}

/** A migration endpoint in this process on 127.0.0.1, its directory, key and log; closed after the test. */
export async function startEndpoint(o: Partial<EndpointOptions> = {}): Promise<{ ep: MigrationEndpoint; target: { endpoint: Endpoint; key: Buffer }; dir: string; logs: string[] }> {
  const dir = o.dir ?? tempDir('migbench-endpoint-');
  const key = Buffer.from(randomBytes(32).toString('hex'));
  const logs: string[] = [];
  const ep = new MigrationEndpoint({ listen: [{ host: '127.0.0.1', port: 0 }], key, dir, log: (l) => logs.push(l), ...o });
  endpoints.push(ep);
  const [endpoint] = await ep.start();
  return { ep, target: { endpoint: endpoint!, key }, dir, logs };
}

/** Resolves when `check` holds (polled every 20 ms), or rejects after `ms` saying what it waited for. */
export async function until(what: string, check: () => boolean, ms = 30_000): Promise<void> {
  for (const end = performance.now() + ms; !check(); ) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
