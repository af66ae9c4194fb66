// `migbench bench` (what `npm run bench` runs): expand a scenario matrix, run it in a worker pool, and
// write reports/<name>/ (runs.csv, rounds.csv, summary.csv, report.html, meta.json; evacuations.csv and
// evacuation-vms.csv when the matrix has evacuations), then point reports/latest at it and print a short
// summary table. Ctrl-C stops scheduling, lets the runs in
// flight finish, writes what finished and exits 130; a second Ctrl-C quits at once.

import type { Command } from 'commander';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { loadMatrix, displayPath } from '../../bench/matrix.js';
import { packageRoot } from '../../bench/paths.js';
import { parseShard, planMatrix } from '../../bench/plan.js';
import { PLANTED_SLOWDOWN_ENV, plantedSlowdown } from '../../bench/planted.js';
import { runBench } from '../../bench/runner.js';
import { InterruptedError, MigbenchError, type ErrorCode } from '../../errors.js';
import { ensureWritableDir } from '../../report/files.js';
import { benchSummaryTable, evacuationSummaryLine } from '../../report/summary.js';
import { onInterrupt } from '../interrupt.js';
import type { Io } from '../io.js';
import { durationFlag, intFlag } from '../flags.js';
import { progressFor } from '../progress.js';


export function registerBench(program: Command, io: Io): void {
  program
    .command('bench')
    .description('run a scenario matrix in a worker pool and write CSV, HTML and meta reports')
    .option('--matrix <NAME|FILE>', 'named matrix in bench/ (default, nightly, quick) or a .yaml/.json file', 'default')
    .option('--threads <N>', `worker threads (default: ${availableParallelism()}, the available cores)`)
    .option('--shard <i/n>', 'run only the i-th of n parts of the matrix (by scenario)')
    .option('--name <NAME>', 'report folder name under the reports directory (default: a UTC timestamp)')
    .option('--reports <DIR>', 'reports directory', 'reports')
    .option('--seed <N>', "base seed (default: the matrix's)")
    .option('--repeats <N>', "runs per scenario (default: the matrix's)")
    .option('--progress-interval <DURATION>', 'progress line interval when stderr is not a terminal', '5s')
    .action(async (opts: Record<string, string | undefined>) => {
      const threads = opts['threads'] === undefined ? availableParallelism() : intFlag('--threads', opts['threads'], 1, 256);
      const seed = opts['seed'] === undefined ? undefined : intFlag('--seed', opts['seed'], 0, 2 ** 32 - 1);
      const repeats = opts['repeats'] === undefined ? undefined : intFlag('--repeats', opts['repeats'], 1, 1000);
      const shard = opts['shard'] === undefined ? null : parseShard(opts['shard']);
      const interval = durationFlag('--progress-interval', opts['progressInterval'] ?? '5s');
      const root = resolve(opts['reports'] ?? 'reports');
      // The report writer (and its charts: Observable Plot, linkedom) loads only when a bench runs.
      const { checkReportName, defaultReportName, writeBenchReport } = await import('../../report/bench-report.js');
      const name = opts['name'] === undefined ? defaultReportName(root) : checkReportName(opts['name']);
      const loaded = loadMatrix(opts['matrix'] ?? 'default');
      const plan = planMatrix(loaded, { ...(seed !== undefined ? { seed } : {}), ...(repeats !== undefined ? { repeats } : {}), shard });
      for (const w of plan.warnings) io.err(`migbench: note: ${w}\n`);
      const planted = plantedSlowdown();
      if (planted !== null) io.err(`migbench: TEST ONLY: ${PLANTED_SLOWDOWN_ENV}=${planted}: every run busy-waits to ${planted}x its time; the report says so\n`);
      // After validating the matrix (a bad matrix writes nothing), before the runs (minutes of runs must
      // not be lost to a reports path that cannot be written).
      ensureWritableDir(root, '--reports');

      const interrupt = onInterrupt(
        io,
        () => '\nmigbench: interrupted; letting the runs in flight finish and writing what finished (Ctrl-C again to quit at once)\n',
        '\nmigbench: interrupted again; quitting without writing reports\n',
      );
      const startedAt = new Date();
      const shardText = plan.shard ? `, shard ${plan.shard.index}/${plan.shard.count}` : '';
      const ev = plan.evacuations;
      const evText = ev ? `${ev.runs.length} evacuations (${ev.scenarios.length} scenarios x ${ev.repeats} repeats, ${ev.runs.reduce((t, r) => t + r.scenario.labels.vms, 0)} VMs)` : '';
      const runsText = ev && plan.totalScenarios === 0 ? '' : `${plan.runs.length} runs (${plan.scenarios.length} scenarios x ${plan.repeats} repeats${shardText})`;
      io.err(`migbench: ${plan.name}: ${runsText}${runsText && evText ? ' and ' : ''}${evText}${!runsText && shardText ? ` (${shardText.slice(2)})` : ''} on ${threads} thread${threads === 1 ? '' : 's'}\n`);
      const tasks = plan.runs.length + (ev?.runs.length ?? 0);
      const progress = progressFor(io, { total: tasks, intervalS: interval, label: `bench ${plan.name}` });
      let outcome;
      try {
        outcome = await runBench(plan, { threads, signal: interrupt.signal, onRun: (done, total) => progress.update(done, total) });
      } finally {
        progress.stop();
        interrupt.dispose();
      }

      const written = writeBenchReport({ root, name, plan, matrix: loaded.matrix, matrixFile: loaded.source, outcome, threads, startedAt, packageRoot: packageRoot() });
      const where = displayPath(written.dir);
      if (plan.runs.length > 0) io.out(`\n${benchSummaryTable(written.summary)}\n`);
      const evDone = outcome.evacuations?.length ?? 0;
      if (ev) io.out(`\n${evacuationSummaryLine(outcome.evacuations ?? [], ev.runs.length, where)}\n`);
      const runsDone = `${outcome.runs.length} of ${plan.runs.length} runs`;
      const evacuationsDone = ev ? `${evDone} of ${ev.runs.length} evacuations` : '';
      const finished = !ev ? runsDone : plan.totalScenarios === 0 ? evacuationsDone : `${runsDone} and ${evacuationsDone}`;
      io.out(
        `${finished} in ${outcome.wallS.toFixed(1)} s on ${threads} thread${threads === 1 ? '' : 's'}; ` +
          `reports in ${where}/ (${written.files.join(', ')})${written.latest ? `; ${displayPath(resolve(root, 'latest'))} points there` : ''}\n`,
      );
      if (outcome.failure) {
        const f = outcome.failure;
        const code: ErrorCode = f.code === 'E_INPUT' || f.code === 'E_UNIT' ? 'E_INPUT' : 'E_STATE';
        throw new MigbenchError(code, `run ${f.runId} failed: ${f.message}; stopped after ${finished}, which are in ${where}/ (reports/latest not updated)`);
      }
      if (outcome.interrupted) {
        throw new InterruptedError(`interrupted after ${finished}; the finished runs are in ${where}/ (reports/latest not updated)`);
      }
    });
}
