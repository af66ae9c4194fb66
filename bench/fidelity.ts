// `npm run bench:fidelity`: the validation table. Simulates every published case in bench/validation/,
// prints each figure beside the published one, and writes reports/fidelity.csv (atomically). It asserts
// nothing: docs/validation.md says why each miss of more than 25% misses.

import { fileURLToPath } from 'node:url';
import { loadCases, runCases } from '../src/bench/fidelity.js';
import { toCsv } from '../src/report/csv.js';
import { writeFileAtomic } from '../src/report/files.js';
import { table } from '../src/report/table.js';

const dir = fileURLToPath(new URL('../../bench/validation/', import.meta.url));
const rows = runCases(loadCases(dir));
const fmt = (x: number) => (x >= 1e6 ? `${(x / 2 ** 20).toFixed(0)} MiB` : Number(x.toPrecision(3)).toString());
process.stdout.write(
  table(
    ['case', 'run', 'metric', 'published', 'simulated', 'ratio', 'within 25%'],
    rows.map((r) => [r.case, r.run, r.metric, `${r.bound === 'at-least' ? '>= ' : r.bound === 'at-most' ? '<= ' : ''}${fmt(r.published)}`, fmt(r.simulated), r.ratio.toFixed(2), r.within_25pct ? 'yes' : 'no']),
  ),
);
const hit = rows.filter((r) => r.within_25pct).length;
process.stdout.write(`\n${hit} of ${rows.length} published figures within 25% (or on the right side of a bound), from ${new Set(rows.map((r) => r.case)).size} cases\n`);
writeFileAtomic('reports/fidelity.csv', toCsv(['case', 'run', 'metric', 'bound', 'published', 'simulated', 'ratio', 'within_25pct', 'status', 'source_url', 'title'], rows as unknown as Record<string, string | number | boolean | null>[]));
process.stdout.write('wrote reports/fidelity.csv\n');
