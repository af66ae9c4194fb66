// The overview at the top of report.html: for each chart group (mode, VM, policy) and network, the best
// transport (the shortest median total time over the workloads, as a geometric mean) with its median
// total time and downtime per workload, and which scenarios did not converge in some run.

import type { SummaryRow } from '../bench/aggregate.js';
import { inGroup, type Group } from './charts.js';

export interface OverviewCell {
  workload: string;
  total_s: number;
  downtime_ms: number;
  /** Runs that did not converge, of the scenario's runs; null when every run converged. */
  notConverged: { runs: number; of: number } | null;
}

export interface OverviewRow {
  network: string;
  /** The best transport, and the others for comparison. */
  best: string;
  cells: OverviewCell[];
}

export interface NotConverged {
  scenario: string;
  network: string;
  transport: string;
  workload: string;
  runs: number;
  of: number;
}

const uniq = <T>(xs: T[]): T[] => [...new Set(xs)];

export function overviewRows(summary: readonly SummaryRow[], g: Group): OverviewRow[] {
  const rows = summary.filter((s) => inGroup(s, g));
  const stat = new Map(rows.map((s) => [`${s.scenario}\u0000${s.metric}`, s]));
  const key = (network: string, transport: string, workload: string): string | undefined => rows.find((s) => s.labels.network === network && s.labels.transport === transport && s.labels.workload === workload)?.scenario;
  const workloads = uniq(rows.map((s) => s.labels.workload));
  const out: OverviewRow[] = [];
  for (const network of uniq(rows.map((s) => s.labels.network))) {
    let best: { transport: string; score: number } | null = null;
    for (const transport of uniq(rows.filter((s) => s.labels.network === network).map((s) => s.labels.transport))) {
      const totals = workloads.map((w) => stat.get(`${key(network, transport, w)}\u0000total_time_s`)?.median ?? NaN);
      if (totals.some((t) => !(t > 0))) continue;
      const score = Math.exp(totals.reduce((a: number, t) => a + Math.log(t), 0) / totals.length);
      if (!best || score < best.score) best = { transport, score };
    }
    if (!best) continue;
    const cells = workloads.map((w): OverviewCell => {
      const scenario = key(network, best!.transport, w)!;
      const conv = stat.get(`${scenario}\u0000converged`);
      const failed = conv ? Math.round((1 - conv.mean) * conv.n) : 0;
      return {
        workload: w,
        total_s: stat.get(`${scenario}\u0000total_time_s`)!.median,
        downtime_ms: stat.get(`${scenario}\u0000downtime_ms`)?.median ?? NaN,
        notConverged: conv && failed > 0 ? { runs: failed, of: conv.n } : null,
      };
    });
    out.push({ network, best: best.transport, cells });
  }
  return out;
}

/** Every scenario of a group (any transport) where some run did not converge. */
export function notConvergedIn(summary: readonly SummaryRow[], g: Group): NotConverged[] {
  return summary
    .filter((s) => inGroup(s, g) && s.metric === 'converged' && s.mean < 1)
    .map((s) => ({ scenario: s.scenario, network: s.labels.network, transport: s.labels.transport, workload: s.labels.workload, runs: Math.round((1 - s.mean) * s.n), of: s.n }));
}
