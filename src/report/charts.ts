// SVG charts for report.html, rendered in Node with Observable Plot on a linkedom document (no browser,
// no script in the page). For each chart group (a mode, VM and policy) there are five charts: total
// time, downtime, data sent and missed pings by network (columns) and transport (bars) for each
// workload (rows), with the 95% confidence interval of the mean as a black rule; and the dirty pages
// per pre-copy round.

import * as Plot from '@observablehq/plot';
import { parseHTML } from 'linkedom';
import type { SummaryRow } from '../bench/aggregate.js';
import type { BenchRun } from '../bench/runner.js';

export interface Chart {
  /** Stable id: `<metric>--<group index>`. */
  id: string;
  kind: 'bars' | 'lines';
  title: string;
  /** The chart group's labels. */
  group: { mode: string; vm: string; policy: string };
  /** Marks drawn (bars or lines), for tests and the page. */
  marks: number;
  svg: string;
}

interface BarSpec {
  metric: string;
  title: string;
  unit: string;
  scale: number;
}

export const BAR_CHARTS: readonly BarSpec[] = [
  { metric: 'total_time_s', title: 'Total time', unit: 's', scale: 1 },
  { metric: 'downtime_ms', title: 'Downtime', unit: 'ms', scale: 1 },
  { metric: 'total_bytes_sent', title: 'Data sent', unit: 'GiB', scale: 2 ** -30 },
  { metric: 'missed_pings', title: 'Missed pings', unit: 'pings', scale: 1 },
];
export const LINE_CHART = { id: 'dirty_pages', title: 'Dirty pages per round' };


const uniq = <T>(xs: T[]): T[] => [...new Set(xs)];
const short = (v: number): string => (v === 0 ? '0' : Math.abs(v) >= 100 ? v.toFixed(0) : Number(v.toPrecision(3)).toString());

function render(options: Plot.PlotOptions): string {
  const { document } = parseHTML('<!doctype html><html><body></body></html>');
  const el = Plot.plot({ ...options, document });
  return (el as unknown as { outerHTML: string }).outerHTML;
}

interface Group {
  mode: string;
  vm: string;
  policy: string;
}
const groupKey = (g: Group): string => `${g.mode}\u0000${g.vm}\u0000${g.policy}`;

/** All charts of a bench, in page order. */
export function buildCharts(summary: readonly SummaryRow[], runs: readonly BenchRun[]): Chart[] {
  const groups = uniq(summary.map((s) => groupKey({ mode: s.labels.mode, vm: s.labels.vm_label, policy: s.labels.policy_label }))).map((k) => {
    const [mode, vm, policy] = k.split('\u0000') as [string, string, string];
    return { mode, vm, policy };
  });
  const networks = uniq(summary.map((s) => s.labels.network));
  const transports = uniq(summary.map((s) => s.labels.transport));
  const workloads = uniq(summary.map((s) => s.labels.workload));
  const charts: Chart[] = [];
  groups.forEach((g, gi) => {
    const inGroup = summary.filter((s) => s.labels.mode === g.mode && s.labels.vm_label === g.vm && s.labels.policy_label === g.policy);
    for (const spec of BAR_CHARTS) charts.push(barChart(spec, g, gi, inGroup, { networks, transports, workloads }));
    const groupRuns = runs.filter((r) => r.planned.scenario.labels.mode === g.mode && r.planned.scenario.labels.vm === g.vm && r.planned.scenario.labels.policy === g.policy);
    charts.push(lineChart(g, gi, groupRuns, { networks, transports, workloads }));
  });
  return charts;
}

interface Domains {
  networks: string[];
  transports: string[];
  workloads: string[];
}

function barChart(spec: BarSpec, g: Group, gi: number, rows: readonly SummaryRow[], d: Domains): Chart {
  const data = rows
    .filter((r) => r.metric === spec.metric)
    .map((r) => ({
      network: r.labels.network,
      transport: r.labels.transport,
      workload: r.labels.workload,
      y: r.mean * spec.scale,
      lo: r.ci95_low === null ? null : r.ci95_low * spec.scale,
      hi: r.ci95_high === null ? null : r.ci95_high * spec.scale,
    }));
  const withCi = data.filter((x) => x.lo !== null);
  const svg = render({
    title: `${spec.title} (${spec.unit}), mean of the repeats`,
    width: Math.max(640, 150 * d.networks.length + 120),
    height: 110 * d.workloads.length + 90,
    marginRight: 60,
    fx: { domain: d.networks, label: 'network' },
    fy: { domain: d.workloads, label: 'workload' },
    x: { domain: d.transports, label: null, padding: 0.15 },
    y: { label: spec.unit, grid: true, nice: true, zero: true },
    color: { domain: d.transports, legend: true },
    marks: [
      Plot.barY(data, { fx: 'network', fy: 'workload', x: 'transport', y: 'y', fill: 'transport', title: (x: (typeof data)[number]) => `${x.network} ${x.transport} ${x.workload}: ${short(x.y)} ${spec.unit}` }),
      Plot.ruleX(withCi, { fx: 'network', fy: 'workload', x: 'transport', y1: 'lo', y2: 'hi', stroke: 'black' }),
      Plot.text(data, { fx: 'network', fy: 'workload', x: 'transport', y: 'y', text: (x: (typeof data)[number]) => short(x.y), dy: -6, fontSize: 9 }),
      Plot.frame({ stroke: '#ddd' }),
    ],
  });
  return { id: `${spec.metric}--${gi}`, kind: 'bars', title: spec.title, group: g, marks: data.length, svg };
}

function lineChart(g: Group, gi: number, runs: readonly BenchRun[], d: Domains): Chart {
  // Mean dirty pages after each round, over the repeats of each scenario (a round index that only some
  // repeats reach is averaged over those).
  const acc = new Map<string, { network: string; transport: string; workload: string; round: number; sum: number; n: number }>();
  for (const r of runs) {
    const l = r.planned.scenario.labels;
    for (const round of r.result.rounds) {
      const k = `${l.network}\u0000${l.transport}\u0000${l.workload}\u0000${round.round}`;
      const a = acc.get(k) ?? { network: l.network, transport: l.transport, workload: l.workload, round: round.round, sum: 0, n: 0 };
      a.sum += round.dirty_pages_after;
      a.n++;
      acc.set(k, a);
    }
  }
  // A log scale cannot show 0: rounds that end with no dirty page (the blackout always does) are not drawn.
  const data = [...acc.values()].map((a) => ({ ...a, y: a.sum / a.n })).filter((a) => a.y > 0);
  const series = new Set(data.map((x) => `${x.network}/${x.transport}/${x.workload}`)).size;
  const svg = render({
    title: 'Dirty pages after each pre-copy round (mean of the repeats; round 0 is the full copy; rounds that leave none are not drawn)',
    width: Math.max(640, 170 * d.workloads.length + 120),
    height: 150 * d.transports.length + 90,
    marginRight: 100,
    fx: { domain: d.workloads, label: 'workload' },
    fy: { domain: d.transports, label: 'transport' },
    x: { label: 'round', grid: true },
    y: { type: 'log', label: 'dirty pages (log scale)', grid: true, tickFormat: '~s' },
    color: { domain: d.networks, legend: true },
    marks: [
      Plot.line(data, { fx: 'workload', fy: 'transport', x: 'round', y: 'y', stroke: 'network', z: 'network', marker: 'circle' }),
      Plot.frame({ stroke: '#ddd' }),
    ],
  });
  return { id: `${LINE_CHART.id}--${gi}`, kind: 'lines', title: LINE_CHART.title, group: g, marks: series, svg };
}
