// Writing a bench's report folder, reports/<name>/: runs.csv, rounds.csv, summary.csv, report.html and
// meta.json (and, when the matrix has evacuations, evacuations.csv and evacuation-vms.csv), each written
// atomically (temp file, then rename), meta.json last. reports/latest (a
// symbolic link) is moved to the folder only after every file is in place, and only for a complete
// bench: an interrupted bench keeps its finished runs in its folder but never becomes "latest".

import { randomUUID } from 'node:crypto';
import { existsSync, lstatSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { summarize, type SummaryRow } from '../bench/aggregate.js';
import { metricColumns, NONDETERMINISTIC_COLUMNS } from '../bench/columns.js';
import { plantedSlowdown } from '../bench/planted.js';
import type { Matrix } from '../bench/matrix.js';
import type { Plan } from '../bench/plan.js';
import type { BenchOutcome } from '../bench/runner.js';
import { InputError, MigbenchError } from '../errors.js';
import { BENCH_RUN_COLUMNS, benchRoundsCsv, benchRunRecords, benchRunsCsv, summaryCsv } from './bench-csv.js';
import { EVACUATION_NONDETERMINISTIC_COLUMNS, evacuationsCsv, evacuationVmsCsv } from './bench-evacuations.js';
import { writeFileAtomic } from './files.js';
import { reportHtml } from './html.js';
import { benchMeta, type BenchMeta } from './meta.js';

export const REPORT_FILES = ['runs.csv', 'rounds.csv', 'summary.csv', 'report.html', 'meta.json'] as const;
/** Written besides REPORT_FILES when the matrix has evacuations. */
export const EVACUATION_REPORT_FILES = ['evacuations.csv', 'evacuation-vms.csv'] as const;

export interface WrittenReport {
  dir: string;
  /** The files written, in the order they were (meta.json last). */
  files: string[];
  meta: BenchMeta;
  summary: SummaryRow[];
  /** reports/latest now points here. */
  latest: boolean;
  charts: number;
}

/** A timestamp folder name (UTC), unique within `root`. */
export function defaultReportName(root: string, now = new Date()): string {
  const base = now.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
  let name = base;
  for (let i = 2; existsSync(join(root, name)); i++) name = `${base}-${i}`;
  return name;
}

export function checkReportName(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) || name === 'latest') {
    throw new InputError({ source: '--name', expected: 'a folder name of letters, digits, ".", "_" and "-" (not "latest")', got: name });
  }
  return name;
}

export interface WriteReportInput {
  root: string;
  name: string;
  plan: Plan;
  matrix: Matrix;
  matrixFile: string;
  outcome: BenchOutcome;
  threads: number;
  startedAt: Date;
  packageRoot: string;
  /** Default: a random UUID. */
  reportId?: string;
}

export function writeBenchReport(i: WriteReportInput): WrittenReport {
  const dir = join(i.root, i.name);
  const reportId = i.reportId ?? randomUUID();
  const reference = i.outcome.reference ?? null;
  const ctx = { reportId, referenceMs: reference?.median_ms ?? null, referenceCpuMs: reference?.cpu_median_ms ?? null };
  const records = benchRunRecords(i.outcome.runs, ctx);
  const evacuations = i.outcome.evacuations ?? [];
  const summary = summarize(records, metricColumns(BENCH_RUN_COLUMNS, records));
  const meta = benchMeta({
    reportId,
    reference,
    planted: i.outcome.runs.some((r) => r.result.engine === 'sim') ? plantedSlowdown() : null,
    plan: i.plan,
    matrix: i.matrix,
    file: i.matrixFile,
    threads: i.threads,
    runsFinished: i.outcome.runs.length,
    interrupted: i.outcome.interrupted,
    startedAt: i.startedAt,
    finishedAt: new Date(),
    wallS: i.outcome.wallS,
    root: i.packageRoot,
    nondeterministic: NONDETERMINISTIC_COLUMNS,
    evacuationsFinished: evacuations.length,
    evacuationNondeterministic: EVACUATION_NONDETERMINISTIC_COLUMNS,
  });
  const { html, charts } = reportHtml({ meta, summary, runs: i.outcome.runs, evacuations });
  const files: [string, string][] = [
    ['runs.csv', benchRunsCsv(i.outcome.runs, ctx)],
    ['rounds.csv', benchRoundsCsv(i.outcome.runs)],
    ['summary.csv', summaryCsv(summary)],
    ...(i.plan.evacuations
      ? ([
          ['evacuations.csv', evacuationsCsv(evacuations, ctx)],
          ['evacuation-vms.csv', evacuationVmsCsv(evacuations)],
        ] as [string, string][])
      : []),
    ['report.html', html],
    ['meta.json', JSON.stringify(meta, null, 2) + '\n'],
  ];
  for (const [f, text] of files) writeFileAtomic(join(dir, f), text);
  const latest = !i.outcome.interrupted;
  if (latest) pointLatest(i.root, i.name);
  return { dir, files: files.map(([f]) => f), meta, summary, latest, charts: charts.length };
}

/** Atomically point <root>/latest at <root>/<name> (a relative symbolic link, replaced by rename). */
export function pointLatest(root: string, name: string): void {
  const link = join(root, 'latest');
  if (existsSync(link) && !lstatSync(link).isSymbolicLink()) {
    throw new MigbenchError('E_IO', `cannot update ${link}: it exists and is not a symbolic link`);
  }
  const tmp = join(root, `.latest.${process.pid}.tmp`);
  rmSync(tmp, { force: true });
  try {
    symlinkSync(name, tmp, 'dir');
    renameSync(tmp, link);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new MigbenchError('E_IO', `cannot update ${link}: ${(err as Error).message}`, { cause: err });
  }
}
