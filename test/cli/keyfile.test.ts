// Issue 15, item 6: a key file is read bounded and never blocks: a FIFO, /dev/zero, a directory or an
// oversized file is refused at once (exit 2 naming --key-file). Each runs as a process with a deadline, so a
// read that blocks (as a FIFO's did) fails the test instead of hanging the runner.
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killStarted, startCli } from '../support/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'migbench-keyfile-'));
afterAll(() => {
  killStarted();
  rmSync(dir, { recursive: true, force: true });
});

async function serveWithKey(keyFile: string) {
  return startCli(['serve', '--listen', '127.0.0.1:0', '--once', '--key-file', keyFile], { timeoutMs: 15_000 }).done;
}

describe('--key-file', () => {
  it('refuses a FIFO at once instead of blocking', async () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const r = await serveWithKey(fifo);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--key-file: expected a readable regular file of at most 4096 bytes .* \(not a regular file\)/);
  });

  it('refuses an oversized file and a directory', async () => {
    const big = join(dir, 'big');
    writeFileSync(big, Buffer.alloc(5000, 0x61));
    const r = await serveWithKey(big);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--key-file: .*\(5000 bytes\)/);
    const d = await serveWithKey(dir);
    expect(d.code).toBe(2);
    expect(d.stderr).toMatch(/--key-file: expected a readable regular file/);
  });

  it('refuses /dev/zero at once instead of reading without end', async () => {
    const r = await serveWithKey('/dev/zero');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--key-file: .*not a regular file/);
  });
});
