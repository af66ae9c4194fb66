// Real-engine tests: loopback only, small guests, temporary directories and source handles released
// after each test (also when it fails).
import { afterEach } from 'vitest';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrateReal } from '../../../src/drivers/real/driver.js';
import type { RealOptions, RealRun } from '../../../src/drivers/real/options.js';
import { resolveScenario, type ScenarioInput } from '../../../src/scenario.js';

const dirs: string[] = [];
const runs: RealRun[] = [];

afterEach(async () => {
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
