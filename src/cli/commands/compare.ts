// `migbench compare BASE CURRENT`: compare two bench reports (a runs.csv, or a report folder holding
// one), print what got better or worse (text, --markdown for a CI job summary, or --json), write
// compare.csv, and exit 1 when a metric got worse (a regression), 2 when the reports cannot be compared
// (different matrices, nothing matching, a partial comparison not allowed) or for bad input. The rules
// are in src/bench/compare.ts, comparable.ts and docs/bench.md.

import type { Command } from 'commander';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { comparableScope, mergeScopes, requireComparable, NotComparableError } from '../../bench/comparable.js';
import { compareRuns } from '../../bench/compare.js';
import { displayPath } from '../../bench/matrix.js';
import { InputError, MigbenchError, UnitError } from '../../errors.js';
import { compareCsv, readRunsCsv } from '../../report/bench-csv.js';
import { jsonReport, markdownReport, refusal, textReport, type CompareContext } from '../../report/compare-output.js';
import { writeFileAtomic } from '../../report/files.js';
import { machineFingerprint, type BenchMeta } from '../../report/meta.js';
import { parseFraction } from '../../units/index.js';
import type { Row } from '../../bench/columns.js';
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

function readCsv(file: string): Row[] {
  try {
    return readRunsCsv(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new InputError({ source: displayPath(file), expected: 'an RFC 4180 CSV file', detail: (err as Error).message });
  }
}

/** A report's runs.csv rows, and its evacuations.csv rows (none when it has no such file). */
function load(side: Side, which: string): { runs: Row[]; evacuations: Row[] } {
  const runs = readCsv(side.runsCsv);
  const evFile = join(dirname(side.runsCsv), 'evacuations.csv');
  const evacuations = existsSync(evFile) ? readCsv(evFile) : [];
  const keyed = (rows: Row[]) => rows.length > 0 && 'run_id' in rows[0]! && 'scenario' in rows[0]!;
  // A bench of evacuations only has a runs.csv without rows.
  if (!keyed(runs) && !(runs.length === 0 && keyed(evacuations))) {
    throw new InputError({ source: displayPath(side.runsCsv), expected: `a bench runs.csv with run_id and scenario columns (${which})` });
  }
  if (evacuations.length > 0 && !keyed(evacuations)) throw new InputError({ source: displayPath(evFile), expected: `a bench evacuations.csv with run_id and scenario columns (${which})` });
  return { runs, evacuations };
}

export class RegressionError extends MigbenchError {
  constructor(message: string) {
    super('E_REGRESSION', message);
  }
}

function fraction(flag: string, value: unknown, example: string): number {
  try {
    return parseFraction(String(value));
  } catch (err) {
    if (err instanceof UnitError) throw new InputError({ source: flag, expected: `a share such as ${example}`, got: value });
    throw err;
  }
}

/**
 * Wall-time metrics that are not judged between these two reports, each with the reason. Raw times
 * (harness_wall_ms, harness_cpu_ms) only on the same machine; the ratios to the reference workload on
 * any machine, the CPU-time ratio in preference to the wall-time one (CPU time does not count the time a
 * thread waits for a core that another process holds).
 */
function wallTimeSkips(base: BenchMeta | null, current: BenchMeta | null, anyMachine: boolean): Record<string, string> {
  const skip: Record<string, string> = {};
  if (!anyMachine && base?.machine && current?.machine) {
    const a = machineFingerprint(base.machine);
    const b = machineFingerprint(current.machine);
    for (const m of ['harness_wall_ms', 'harness_cpu_ms']) {
      if (a !== b) skip[m] = `${m} not judged: the base ran on ${a}, the current report on ${b}; the ratios to the reference workload measured in the same bench are judged instead (--any-machine judges it)`;
    }
  }
  const ra = base?.reference_workload?.version;
  const rb = current?.reference_workload?.version;
  if (ra !== undefined && rb !== undefined && ra !== rb) {
    for (const m of ['harness_wall_ratio', 'harness_cpu_ratio']) skip[m] = `${m} not judged: the reports measured different reference workloads (versions ${ra} and ${rb}); refresh the baseline`;
  } else if (typeof base?.reference_workload?.cpu_median_ms === 'number' && typeof current?.reference_workload?.cpu_median_ms === 'number') {
    skip['harness_wall_ratio'] = 'harness_wall_ratio not judged: both reports have harness_cpu_ratio, which is judged instead (CPU time does not count waiting for a core that other load holds)';
  }
  return skip;
}

export function registerCompare(program: Command, io: Io): void {
  program
    .command('compare')
    .description('compare two bench reports; exit 1 when a metric got worse beyond the threshold, 2 when they cannot be compared')
    .argument('<BASE>', 'baseline: a runs.csv or a report folder')
    .argument('<CURRENT>', 'current: a runs.csv or a report folder')
    .option('--threshold <PCT>', 'relative change of the mean that counts (5% or 0.05)', '5%')
    .option('--overall-threshold <PCT>', 'threshold of the all-scenarios rows of measured metrics (whole-bench wall time)', '25%')
    .option('--alpha <P>', "measured metrics: Welch's t-test significance level", '0.01')
    .option('--metrics <LIST>', 'comma-separated metrics to compare (default: every common metric with a better direction)')
    .option('--out <FILE>', 'where to write compare.csv (default: beside CURRENT runs.csv)')
    .option('--correction <holm|none>', 'multiple-comparison adjustment of the per-scenario measured tests', 'holm')
    .option('--all', 'print every compared metric, not only the changed ones')
    .option('--any-machine', 'judge harness_wall_ms even when meta.json says the reports come from different machines')
    .option('--allow-partial', 'compare the runs that match even when the matrices differ or runs are missing on a side')
    .option('--json', 'print one JSON document (and nothing else) instead of the text table')
    .option('--markdown', 'print Markdown (for $GITHUB_STEP_SUMMARY) instead of the text table')
    .action((baseArg: string, currentArg: string, opts: Record<string, string | boolean | undefined>) => {
      const threshold = fraction('--threshold', opts['threshold'], '5% or 0.05');
      const overallThreshold = fraction('--overall-threshold', opts['overallThreshold'], '25% or 0.25');
      const alpha = Number(opts['alpha']);
      if (!(alpha > 0 && alpha < 1)) throw new InputError({ source: '--alpha', expected: 'a probability between 0 and 1, such as 0.01', got: opts['alpha'] });
      const correction = opts['correction'];
      if (correction !== 'holm' && correction !== 'none') throw new InputError({ source: '--correction', expected: 'holm or none', got: correction });
      if (opts['json'] && opts['markdown']) throw new InputError({ source: '--json, --markdown', expected: 'one output format, not both' });
      const format = opts['json'] ? 'json' : opts['markdown'] ? 'markdown' : 'text';
      const metrics = typeof opts['metrics'] === 'string' ? opts['metrics'].split(',').map((s) => s.trim()).filter(Boolean) : undefined;

      const base = locate(baseArg, 'BASE');
      const current = locate(currentArg, 'CURRENT');
      const names = { base: displayPath(base.runsCsv), current: displayPath(current.runsCsv) };
      const baseRows = load(base, 'BASE');
      const currentRows = load(current, 'CURRENT');
      // Evacuation runs are compared beside the migrations when either report has them (their own scenarios).
      const withEvacuations = baseRows.evacuations.length > 0 || currentRows.evacuations.length > 0;
      const scope = mergeScopes(
        comparableScope({ name: names.base, rows: baseRows.runs, meta: base.meta }, { name: names.current, rows: currentRows.runs, meta: current.meta }),
        withEvacuations ? comparableScope({ name: names.base, rows: baseRows.evacuations, meta: base.meta }, { name: names.current, rows: currentRows.evacuations, meta: current.meta }) : null,
      );
      try {
        requireComparable(scope, opts['allowPartial'] === true);
      } catch (err) {
        if (err instanceof NotComparableError) io.out(refusal(format, err.message, names));
        throw err;
      }
      const skipMetrics = wallTimeSkips(base.meta, current.meta, opts['anyMachine'] === true);
      const cmp = compareRuns([...baseRows.runs, ...baseRows.evacuations], [...currentRows.runs, ...currentRows.evacuations], { threshold, overallThreshold, alpha, correction, skipMetrics, baseScenarios: scope.baseScenarios, ...(metrics ? { metrics } : {}) }, names);
      const out = typeof opts['out'] === 'string' ? resolve(opts['out']) : join(dirname(current.runsCsv), 'compare.csv');
      writeFileAtomic(out, compareCsv(cmp.rows));

      const notes = [...scope.notes, ...scope.problems.map((p) => `partial comparison (--allow-partial): ${p}`), ...Object.values(skipMetrics).filter((_, i) => cmp.metrics.includes(Object.keys(skipMetrics)[i]!))];
      const ctx: CompareContext = { ...names, threshold, overallThreshold, alpha, correction, notes, all: opts['all'] === true, out: displayPath(out) };
      if (format === 'json') io.out(JSON.stringify(jsonReport(cmp, ctx), null, 2) + '\n');
      else io.out(format === 'markdown' ? markdownReport(cmp, ctx) : textReport(cmp, ctx));
      if (cmp.regression) {
        const c = cmp.counts;
        throw new RegressionError(`${c.worse} metric${c.worse === 1 ? '' : 's'} worse than the base beyond the threshold (a regression); see ${displayPath(out)}`);
      }
    });
}
