// The validation table: every case file is valid, and docs/validation.md's table is what the model gives
// now (a model change that moves a figure fails here until the table, and the reasons, are updated).
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { CaseSchema, loadCases, runCases } from '../../src/bench/fidelity.js';

const doc = readFileSync('docs/validation.md', 'utf8');
const table = doc.slice(doc.indexOf('<!-- fidelity-table -->'), doc.indexOf('<!-- /fidelity-table -->'));
const fmt = (x: number) => (x >= 1e6 ? `${(x / 2 ** 20).toFixed(0)} MiB` : Number(x.toPrecision(3)).toString());

describe('bench:fidelity', () => {
  const cases = loadCases('bench/validation');

  it('has at least 8 published cases, Hyper-V first, each with a source URL', () => {
    expect(cases.length).toBeGreaterThanOrEqual(8);
    expect(cases.filter((c) => /Hyper-V/.test(c.system)).length).toBeGreaterThanOrEqual(5);
    for (const c of cases) expect(c.source_url).toMatch(/^https?:\/\//);
  });

  it("docs/validation.md's table is the model's figures now", () => {
    const rows = runCases(cases);
    expect(rows.length).toBeGreaterThanOrEqual(20);
    for (const r of rows) {
      const line = `| ${r.case} | ${r.run} | ${r.metric} | ${r.bound === 'at-least' ? '>= ' : r.bound === 'at-most' ? '<= ' : ''}${fmt(r.published)} | ${fmt(r.simulated)} | ${r.ratio.toFixed(2)} | ${r.within_25pct ? 'yes' : 'no'} |`;
      expect(table, `${r.case} / ${r.run} / ${r.metric}`).toContain(line);
    }
    const hit = rows.filter((r) => r.within_25pct).length;
    expect(doc).toContain(`${hit} of ${rows.length} published figures are within 25%`);
  });

  it('refuses a case file with a bad field, naming it', () => {
    const bad = CaseSchema.safeParse({ ...cases[0], runs: [{ label: 'x', published: [{ metric: 'speed', value: 1 }] }] });
    expect(bad.success).toBe(false);
  });
});
