import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { MICRO_COLUMNS } from '../../bench/micro/cases.js';
import { BENCH_ROUND_COLUMNS, BENCH_RUN_COLUMNS, COMPARE_COLUMNS, SUMMARY_COLUMNS } from '../../src/report/bench-csv.js';
import { EVACUATION_RUN_COLUMNS, EVACUATION_VM_COLUMNS } from '../../src/report/bench-evacuations.js';
import { DRAIN_COLUMNS, DRAIN_VM_COLUMNS } from '../../src/bench/real-evacuations.js';

// Every CSV column is documented, with its unit, in a table of docs/csv.md: a column added to the result
// record (RUN_COLUMNS) fails here until it is documented.
const doc = readFileSync(new URL('../../docs/csv.md', import.meta.url), 'utf8');
function section(title: string): string[] {
  const start = doc.indexOf(`## ${title}\n`);
  expect(start, title).toBeGreaterThanOrEqual(0);
  const end = doc.indexOf('\n## ', start + 1);
  return doc
    .slice(start, end < 0 ? undefined : end)
    .split('\n')
    .filter((l) => l.startsWith('| `'));
}

describe('docs/csv.md', () => {
  it.each([
    ['runs.csv', BENCH_RUN_COLUMNS],
    ['rounds.csv', BENCH_ROUND_COLUMNS],
    ['summary.csv', SUMMARY_COLUMNS],
    ['compare.csv', COMPARE_COLUMNS],
    ['micro.csv', MICRO_COLUMNS],
    ['evacuations.csv', EVACUATION_RUN_COLUMNS],
    ['evacuation-vms.csv', EVACUATION_VM_COLUMNS],
    ['drains.csv (bench:real --evacuations)', DRAIN_COLUMNS],
    ['drain-vms.csv (bench:real --evacuations)', DRAIN_VM_COLUMNS],
  ] as const)('documents every column of %s with a unit', (title, columns) => {
    const rows = section(title);
    for (const c of columns) {
      const row = rows.find((l) => l.split('|')[1]!.includes(`\`${c}\``));
      expect(row, `${title}: ${c}`).toBeDefined();
      expect(row!.split('|').length, `${title}: ${c}`).toBeGreaterThanOrEqual(4);
    }
  });
});
