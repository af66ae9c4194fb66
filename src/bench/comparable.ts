// Whether two reports can be compared, and what CURRENT is expected to hold of BASE. A nightly that
// compared nothing (a changed matrix, another shard, other repeats) must not go green: every reason a
// comparison would be partial is a problem here, which `compare` refuses (exit 2) unless told
// --allow-partial; a comparison in which no run matches is refused always.

import { MigbenchError } from '../errors.js';
import { groupByScenario } from './aggregate.js';
import type { Row } from './columns.js';

/** What comparing needs of a report's meta.json. */
export interface MatrixMeta {
  matrix: { name: string; sha256: string; seed: number; repeats: number };
  shard: string | null;
}

export interface Side {
  /** How to name this side in a message (its path). */
  name: string;
  rows: readonly Row[];
  meta: MatrixMeta | null;
}

export interface Scope {
  /** BASE's scenarios that CURRENT should hold (all of them, or those of CURRENT's shard). */
  baseScenarios: Set<string>;
  /** Why the comparison would be partial: refused unless --allow-partial. */
  problems: string[];
  /** Things worth saying that are no problem (a shard compared with a whole baseline). */
  notes: string[];
  /** Run ids found on both sides (of the expected scenarios). */
  matchedRuns: number;
}

/** A comparison that cannot be made (exit 2, like bad input: the inputs do not fit together). */
export class NotComparableError extends MigbenchError {
  constructor(message: string) {
    super('E_INPUT', message);
  }
}

const examples = (xs: readonly string[]): string => `${xs.slice(0, 3).join(', ')}${xs.length > 3 ? `, ... (${xs.length} in all)` : ''}`;

function parseShard(s: string | null | undefined): { index: number; count: number } | null {
  const m = s ? /^(\d+)\/(\d+)$/.exec(s) : null;
  return m ? { index: Number(m[1]), count: Number(m[2]) } : null;
}

export function comparableScope(base: Side, current: Side): Scope {
  const problems: string[] = [];
  const notes: string[] = [];
  const bm = base.meta;
  const cm = current.meta;
  if (bm && cm) {
    if (bm.matrix.sha256 !== cm.matrix.sha256) {
      problems.push(`the matrices differ: BASE was made from ${bm.matrix.name} (sha256 ${bm.matrix.sha256.slice(0, 12)}), CURRENT from ${cm.matrix.name} (sha256 ${cm.matrix.sha256.slice(0, 12)})`);
    }
    if (bm.matrix.seed !== cm.matrix.seed) problems.push(`the seeds differ: BASE ${bm.matrix.seed}, CURRENT ${cm.matrix.seed}`);
    if (bm.matrix.repeats !== cm.matrix.repeats) problems.push(`the repeats differ: BASE ${bm.matrix.repeats}, CURRENT ${cm.matrix.repeats} (only runs with the same run_id would be compared)`);
  }

  // Which of BASE's scenarios CURRENT should hold: a shard's, when CURRENT is a shard of a whole BASE.
  const baseOrder = [...groupByScenario(base.rows).keys()];
  let expected = baseOrder;
  const bs = parseShard(bm?.shard);
  const cs = parseShard(cm?.shard);
  if (cs && !bs) {
    expected = baseOrder.filter((_, k) => k % cs.count === cs.index - 1);
    notes.push(`CURRENT is shard ${cs.index}/${cs.count}: ${expected.length} of BASE's ${baseOrder.length} scenarios are its own (the others belong to other shards and are left out)`);
  } else if (bs && (!cs || bs.index !== cs.index || bs.count !== cs.count)) {
    problems.push(`BASE is shard ${bm!.shard} and CURRENT ${cm?.shard ? `shard ${cm.shard}` : 'a whole matrix'}`);
  }
  const baseScenarios = new Set(expected);

  const currentScenarios = groupByScenario(current.rows);
  const missing = expected.filter((s) => !currentScenarios.has(s));
  const extra = [...currentScenarios.keys()].filter((s) => !groupByScenario(base.rows).has(s));
  if (missing.length > 0) problems.push(`${missing.length} of BASE's ${expected.length} scenarios are missing from CURRENT: ${examples(missing)}`);
  if (extra.length > 0) problems.push(`${extra.length} scenarios of CURRENT are not in BASE: ${examples(extra)}`);

  const baseIds = new Set(base.rows.filter((r) => baseScenarios.has(String(r['scenario']))).map((r) => String(r['run_id'])));
  const currentIds = new Set(current.rows.map((r) => String(r['run_id'])));
  const matchedRuns = [...currentIds].filter((id) => baseIds.has(id)).length;
  const runsOnlyBase = [...baseIds].filter((id) => !currentIds.has(id) && currentScenarios.has(id.slice(0, id.lastIndexOf('#'))));
  const runsOnlyCurrent = [...currentIds].filter((id) => !baseIds.has(id) && baseScenarios.has(id.slice(0, id.lastIndexOf('#'))));
  if (runsOnlyBase.length > 0) problems.push(`${runsOnlyBase.length} runs of BASE have no run with the same run_id in CURRENT: ${examples(runsOnlyBase)}`);
  if (runsOnlyCurrent.length > 0) problems.push(`${runsOnlyCurrent.length} runs of CURRENT have no run with the same run_id in BASE: ${examples(runsOnlyCurrent)}`);
  return { baseScenarios, problems, notes, matchedRuns };
}

/**
 * One scope for a report's two kinds of runs (runs.csv's migrations and evacuations.csv's drains), each
 * judged on its own (a shard takes every k-th scenario of each kind, counted on their own); what the
 * matrices share (name, seed, repeats) is said once.
 */
export function mergeScopes(a: Scope, b: Scope | null): Scope {
  if (!b) return a;
  return {
    baseScenarios: new Set([...a.baseScenarios, ...b.baseScenarios]),
    problems: [...new Set([...a.problems, ...b.problems])],
    notes: [...new Set([...a.notes, ...b.notes.map((n) => n.replace(/ scenarios are its own/, ' evacuation scenarios are its own'))])],
    matchedRuns: a.matchedRuns + b.matchedRuns,
  };
}

/** Throws NotComparableError when nothing matches, or when the comparison is partial and that was not allowed. */
export function requireComparable(scope: Scope, allowPartial: boolean): void {
  if (scope.matchedRuns === 0) {
    throw new NotComparableError(`nothing to compare: no run of CURRENT has a run_id found in BASE${scope.problems.length ? ` (${scope.problems.join('; ')})` : ''}`);
  }
  if (scope.problems.length > 0 && !allowPartial) {
    throw new NotComparableError(`not comparable: ${scope.problems.join('; ')}. Refusing rather than comparing part of the reports; --allow-partial compares the ${scope.matchedRuns} runs that match`);
  }
}
