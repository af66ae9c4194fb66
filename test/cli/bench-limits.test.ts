// Issue 15, items 6 and 7: a matrix that would expand without bound, or is nested absurdly deep, is bad
// input (exit 2, naming the file and the count), not an expansion that runs the host out of memory or a
// stack overflow (exit 1 with a stack trace).
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryIo } from '../../src/cli/io.js';
import { run } from '../../src/cli/main.js';

const dir = mkdtempSync(join(tmpdir(), 'migbench-bench-limits-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function bench(file: string, ...extra: string[]) {
  const io = memoryIo();
  const code = await run(['node', 'migbench', 'bench', '--matrix', file, '--reports', join(dir, 'reports'), ...extra], io);
  return { code, out: io.stdout, err: io.stderr };
}

function matrix(name: string, vms: number, repeats: number): string {
  const file = join(dir, name);
  const m = {
    repeats,
    axes: {
      modes: ['cluster'],
      networks: ['1g', '10g'],
      transports: ['tcp'],
      workloads: ['idle', 'web'],
      vms: Array.from({ length: vms }, (_, i) => `${i + 1}MiB`),
      policies: ['hyperv', 'qemu', 'xen'],
    },
  };
  writeFileSync(file, JSON.stringify(m));
  return file;
}

describe('bench matrix limits', () => {
  it('refuses a matrix of more than 100,000 combinations, naming the file and the count', async () => {
    const file = matrix('wide.json', 20_000, 1);
    const r = await bench(file);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${file}: axes: expected at most 100,000 combinations`);
    expect(r.err).toContain('240,000 combinations');
  }, 60_000);

  it('refuses more than 1,000,000 runs, from the matrix or from --repeats', async () => {
    const file = matrix('repeats.json', 1000, 1000);
    const r = await bench(file);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${file}: repeats: expected at most 1,000,000 runs`);
    expect(r.err).toContain('12,000 combinations x 1000 repeats = 12,000,000 runs');
    const once = matrix('once.json', 1000, 1);
    const o = await bench(once, '--repeats', '1000');
    expect(o.code).toBe(2);
    expect(o.err).toContain('12,000,000 runs');
  }, 60_000);

  it('refuses a JSON matrix nested 100,000 levels deep without a stack trace', async () => {
    const file = join(dir, 'deep.json');
    writeFileSync(file, `{"axes": ${'['.repeat(100_000)}${']'.repeat(100_000)}}`);
    const r = await bench(file);
    expect(r.code).toBe(2);
    expect(r.err).toContain('nested at most 32 levels deep');
    expect(r.err).not.toMatch(/internal error|RangeError|    at /);
  });
});
