// One temporary directory for the whole test run: every test's mkdtemp (and every CLI process a test
// spawns) lands under it through TMPDIR, and it is removed when the run ends, pass or fail.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'migbench-test-'));
  process.env['TMPDIR'] = dir;
  return () => rmSync(dir, { recursive: true, force: true });
}
