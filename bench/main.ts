// `npm run bench` (foundation stage): simulates a fixed set of cluster migrations of an 8 GiB VM --
// every workload preset over every network profile with every transport -- and writes reports/runs.csv
// and reports/rounds.csv. The full matrix runner (issue 5) replaces this.

import { performance } from 'node:perf_hooks';
import { formatResultRow } from '../src/report/summary.js';
import { roundsCsv, runsCsv } from '../src/report/csv.js';
import { writeFileAtomic } from '../src/report/files.js';
import { simulate } from '../src/drivers/sim/index.js';
import { NETWORK_NAMES } from '../src/network/index.js';
import { WORKLOAD_PRESETS } from '../src/guest/workload.js';
import { TRANSPORTS, type MigrationResult } from '../src/result.js';
import { resolveScenario } from '../src/scenario.js';

const t0 = performance.now();
const results: MigrationResult[] = [];
for (const network of NETWORK_NAMES)
  for (const transport of TRANSPORTS)
    for (const workload of Object.keys(WORKLOAD_PRESETS)) results.push(simulate(resolveScenario({ memory: '8GiB', network, transport, workload, seed: 1 })));
writeFileAtomic('reports/runs.csv', runsCsv(results));
writeFileAtomic('reports/rounds.csv', roundsCsv(results));
const secs = (performance.now() - t0) / 1000;
process.stdout.write(formatResultRow(results.filter((r) => r.workload === 'oltp')));
process.stdout.write(`\n${results.length} simulations in ${secs.toFixed(1)} s; wrote reports/runs.csv and reports/rounds.csv\n`);
