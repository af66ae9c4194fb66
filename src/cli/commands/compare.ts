// `migbench compare BASE CURRENT`: compare two bench reports (a runs.csv, or a report folder holding
// one), print a table of the metrics that got better or worse, write compare.csv, and exit 1 when a
// metric got worse (a regression). The rules are in src/bench/compare.ts and docs/bench.md.

import type { Command } from 'commander';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { compareRuns, type CompareRow } from '../../bench/compare.js';
import { displayPath } from '../../bench/matrix.js';
import { InputError, MigbenchError } from '../../errors.js';
import { compareCsv, readRunsCsv } from '../../report/bench-csv.js';
import { writeFileAtomic } from '../../report/files.js';
import { machineFingerprint, type BenchMeta } from '../../report/meta.js';
import { table } from '../../report/table.js';
import { UnitError } from '../../errors.js';
import { parseFraction } from '../../units/index.js';
import type { Io } from '../io.js';

interface Side {
  runsCsv: string;
  meta: BenchMeta | null;
}

function locate(arg: string, which: 'BASE' | 'CURRENT'): Side {
  const p = resolve(arg);
  if (!existsSync(p)) throw new InputError({ source: which, expected: 'a runs.csv file or a report folder that holds one', got: arg });
  const runsCsv = statSync(p).isDirectory() ? join(p, 'runs.csv') : p;
  if (!existsSync(runsCsv)) throw new InputError({ source: which, expected: 'a report folder with a runs.csv', got: arg });
  const metaFile = join(dirname(runsCsv), 'meta.json');
  let meta: BenchMeta | null = null;
  if (existsSync(metaFile)) {
    try {
      meta = JSON.parse(readFileSync(metaFile, 'utf8')) as BenchMeta;
    } catch {
      meta = null;
    }
  }
  return { runsCsv, meta };
}

function load(side: Side, which: string) {
  let rows;
  try {
    rows = readRunsCsv(readFileSync(side.runsCsv, 'utf8'));
  } catch (err) {
    throw new InputError({ source: displayPath(side.runsCsv), expected: 'an RFC 4180 CSV file', detail: (err as Error).message });
  }
  if (rows.length === 0 || !('run_id' in rows[0]!) || !('scenario' in rows[0]!)) {
    throw new InputError({ source: displayPath(side.runsCsv), expected: `a bench runs.csv with run_id and scenario columns (${which})` });
  }
  return rows;
}

export class RegressionError extends MigbenchError {
  constructor(message: string) {
    super('E_REGRESSION', message);
  }
}

const pct = (f: number): string => `${+(f * 100).toFixed(4)}%`;
const num = (v: number | null): string => (v === null ? '' : Number(v.toPrecision(4)).toString());

export function registerCompare(program: Command, io: Io): void {
  program
    .command('compare')
    .description('compare two bench reports; exit 1 when a metric got worse beyond the threshold')
    .argument('<BASE>', 'baseline: a runs.csv or a report folder')
    .argument('<CURRENT>', 'current: a runs.csv or a report folder')
    .option('--threshold <PCT>', 'relative change of the mean that counts (5% or 0.05)', '5%')
    .option('--overall-threshold <PCT>', 'threshold of the all-scenarios rows of measured metrics (whole-bench wall time)', '25%')
    .option('--alpha <P>', "measured metrics: Welch's t-test significance level", '0.01')
    .option('--metrics <LIST>', 'comma-separated metrics to compare (default: every common metric with a better direction)')
    .option('--out <FILE>', 'where to write compare.csv (default: beside CURRENT runs.csv)')
    .option('--correction <holm|none>', 'multiple-comparison adjustment of the per-scenario measured tests', 'holm')
    .option('--all', 'print every compared metric, not only the changed ones')
    .option('--any-machine', 'judge measured metrics (wall time) even when meta.json says the reports come from different machines')
    .action((baseArg: string, currentArg: string, opts: Record<string, string | boolean | undefined>) => {
      let threshold: number;
      try {
        threshold = parseFraction(String(opts['threshold']));
      } catch (err) {
        if (err instanceof UnitError) throw new InputError({ source: '--threshold', expected: 'a share such as 5% or 0.05', got: opts['threshold'] });
        throw err;
      }
      let overallThreshold: number;
      try {
        overallThreshold = parseFraction(String(opts['overallThreshold']));
      } catch (err) {
        if (err instanceof UnitError) throw new InputError({ source: '--overall-threshold', expected: 'a share such as 25% or 0.25', got: opts['overallThreshold'] });
        throw err;
      }
      const alpha = Number(opts['alpha']);
      if (!(alpha > 0 && alpha < 1)) throw new InputError({ source: '--alpha', expected: 'a probability between 0 and 1, such as 0.01', got: opts['alpha'] });
      const correction = opts['correction'];
      if (correction !== 'holm' && correction !== 'none') throw new InputError({ source: '--correction', expected: 'holm or none', got: correction });
      const metrics = typeof opts['metrics'] === 'string' ? opts['metrics'].split(',').map((s) => s.trim()).filter(Boolean) : undefined;

      const base = locate(baseArg, 'BASE');
      const current = locate(currentArg, 'CURRENT');
      let skipMeasured: string | undefined;
      if (!opts['anyMachine'] && base.meta?.machine && current.meta?.machine) {
        const a = machineFingerprint(base.meta.machine);
        const b = machineFingerprint(current.meta.machine);
        if (a !== b) skipMeasured = `measured metrics not judged: the base ran on ${a}, the current report on ${b} (--any-machine to judge them anyway)`;
      }
      const cmp = compareRuns(load(base, 'BASE'), load(current, 'CURRENT'), { threshold, overallThreshold, alpha, correction, ...(metrics ? { metrics } : {}), ...(skipMeasured ? { skipMeasured } : {}) }, {
        base: displayPath(base.runsCsv),
        current: displayPath(current.runsCsv),
      });
      const out = typeof opts['out'] === 'string' ? resolve(opts['out']) : join(dirname(current.runsCsv), 'compare.csv');
      writeFileAtomic(out, compareCsv(cmp.rows));

      const shown = opts['all'] ? cmp.rows : cmp.rows.filter((r) => r.verdict !== 'same' && r.verdict !== 'not_compared');
      io.out(`comparing ${displayPath(current.runsCsv)} with ${displayPath(base.runsCsv)} (threshold ${pct(threshold)}; measured metrics at p < ${alpha}${correction === 'holm' ? ', Holm-adjusted' : ''}, all scenarios together ${pct(overallThreshold)})\n`);
      io.out(`metrics: ${cmp.metrics.join(', ')}\n\n`);
      if (shown.length > 0) io.out(table(['verdict', 'scenario', 'metric', 'kind', 'base', 'current', 'change %', 'p adj.'], shown.map(cells)) + '\n');
      if (skipMeasured) io.out(`note: ${skipMeasured}\n`);
      const c = cmp.counts;
      const extra = (['changed', 'only_base', 'only_current', 'not_compared'] as const).filter((k) => c[k] > 0).map((k) => `, ${c[k]} ${k.replace('_', ' ')}`);
      io.out(`${c.worse} worse, ${c.better} better, ${c.same} same${extra.join('')}; wrote ${displayPath(out)}\n`);
      if (cmp.regression) throw new RegressionError(`${c.worse} metric${c.worse === 1 ? '' : 's'} worse than the base beyond the threshold (a regression); see ${displayPath(out)}`);
    });
}

function cells(r: CompareRow): string[] {
  return [r.verdict, r.scenario, r.metric || '-', r.kind || '-', num(r.base_mean), num(r.current_mean), r.change_pct === null ? '' : r.change_pct.toFixed(2), r.p_adjusted === null ? '' : r.p_adjusted.toPrecision(2)];
}
