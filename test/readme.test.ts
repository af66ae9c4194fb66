// The README's library example runs as written (its import pointed at this checkout's source).
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('README', () => {
  it('its library example runs and prints a migration and a drain', async () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const block = /## As a library\n\n```ts\n([^]*?)```/.exec(readme)?.[1];
    expect(block, 'the ts block under "As a library"').toBeDefined();
    const dir = mkdtempSync(join(root, 'test', '.readme-'));
    try {
      const file = join(dir, 'example.ts');
      const printed: unknown[][] = [];
      (globalThis as Record<string, unknown>)['__readmeLog'] = (...a: unknown[]) => printed.push(a);
      writeFileSync(file, block!.replace("from 'migbench'", `from '${pathToFileURL(join(root, 'src', 'index.ts')).href}'`).replaceAll('console.log(', '(globalThis as any).__readmeLog('));
      await import(pathToFileURL(file).href);
      expect(printed).toHaveLength(2);
      const [total, downtime, converged] = printed[0]!;
      expect(total).toBeGreaterThan(0);
      expect(downtime).toBeGreaterThan(0);
      expect(converged).toBe(true);
      expect(printed[1]![0]).toBeGreaterThan(0);
      expect(typeof printed[1]![1]).toBe('boolean');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
