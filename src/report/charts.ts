// SVG charts for report.html, rendered in Node with Observable Plot on a linkedom document (no browser,
// no script in the page). For each chart group (a mode, VM and policy) and each metric (total time,
// downtime, data sent, missed pings) there is one small chart per workload, each with its own scale so
// that a light workload is not flattened by a heavy one: bars of the median of the repeats (the
// statistic the CLI table shows) by network (columns) and transport (colour), the runs' min-max range
// as a black rule, a coloured 0 where the median is 0, a red cross over scenarios where some run did not
// converge, and on downtime charts the 300 ms target as a dashed red line. Then the dirty pages per
// pre-copy round.

import * as Plot from '@observablehq/plot';
import { parseHTML } from 'linkedom';
import type { SummaryRow } from '../bench/aggregate.js';
import type { BenchRun } from '../bench/runner.js';

export interface Chart {
  /** Stable id: `<metric>--<group index>[--<workload index>]`. */
  id: string;
  kind: 'bars' | 'lines';
  /** The metric (or `dirty_pages`). */
  metric: string;
  title: string;
  /** The chart group's labels. */
  group: { mode: string; vm: string; policy: string };
  /** The workload of a bar chart ('' for the line chart). */
  workload: string;
  /** Marks drawn (bars or lines), for tests and the page. */
  marks: number;
  svg: string;
}

export interface BarSpec {
  metric: string;
  title: string;
  unit: string;
  scale: number;
  /** A horizontal target line (in the chart's unit), with its label. */
  target?: { value: number; label: string };
}

/** The downtime target (QEMU's default downtime limit; docs/model.md). */
export const DOWNTIME_TARGET_MS = 300;

export const BAR_CHARTS: readonly BarSpec[] = [
  { metric: 'total_time_s', title: 'Total time', unit: 's', scale: 1 },
  { metric: 'downtime_ms', title: 'Downtime', unit: 'ms', scale: 1, target: { value: DOWNTIME_TARGET_MS, label: '300 ms target' } },
  { metric: 'total_bytes_sent', title: 'Data sent', unit: 'GiB', scale: 2 ** -30 },
  { metric: 'missed_pings', title: 'Missed pings', unit: 'pings', scale: 1 },
];
export const LINE_CHART = { id: 'dirty_pages', title: 'Dirty pages after each pre-copy round (median of the repeats; round 0 is the full copy; rounds that leave none are not drawn)' };

/** Colours of the transports (Observable's categorical scheme, fixed so every chart agrees). */
export const TRANSPORT_COLORS = ['#4269d0', '#efb118', '#ff725c', '#6cc5b0', '#3ca951', '#ff8ab7'];
export const NOT_CONVERGED_COLOR = '#b00020';

const uniq = <T>(xs: T[]): T[] => [...new Set(xs)];
export const short = (v: number): string => (v === 0 ? '0' : Math.abs(v) >= 100 ? v.toFixed(0) : Number(v.toPrecision(3)).toString());

export function render(options: Plot.PlotOptions): string {
  const { document } = parseHTML('<!doctype html><html><body></body></html>');
  const el = Plot.plot({ ...options, document });
  return (el as unknown as { outerHTML: string }).outerHTML;
}

/** The transport colour legend, once per page. */
export function legend(transports: readonly string[]): string {
  const { document } = parseHTML('<!doctype html><html><body></body></html>');
  const el = Plot.legend({ color: { domain: [...transports], range: TRANSPORT_COLORS }, document } as unknown as Plot.LegendOptions);
  return (el as unknown as { outerHTML: string }).outerHTML;
}

export interface Group {
  mode: string;
  vm: string;
  policy: string;
}
const groupKey = (g: Group): string => `${g.mode}\u0000${g.vm}\u0000${g.policy}`;

export interface Domains {
  networks: string[];
  transports: string[];
  workloads: string[];
}

/** The chart groups (mode, VM, policy) of a summary, in order. */
export function groupsOf(summary: readonly SummaryRow[]): Group[] {
  return uniq(summary.map((s) => groupKey({ mode: s.labels.mode, vm: s.labels.vm_label, policy: s.labels.policy_label }))).map((k) => {
    const [mode, vm, policy] = k.split('\u0000') as [string, string, string];
    return { mode, vm, policy };
  });
}

export function domainsOf(summary: readonly SummaryRow[]): Domains {
  return { networks: uniq(summary.map((s) => s.labels.network)), transports: uniq(summary.map((s) => s.labels.transport)), workloads: uniq(summary.map((s) => s.labels.workload)) };
}

export const inGroup = (s: SummaryRow, g: Group): boolean => s.labels.mode === g.mode && s.labels.vm_label === g.vm && s.labels.policy_label === g.policy;

/** Scenarios where some run did not converge (the mean of `converged` below 1). */
export function notConverged(summary: readonly SummaryRow[]): Set<string> {
  return new Set(summary.filter((s) => s.metric === 'converged' && s.mean < 1).map((s) => s.scenario));
}

/** All charts of a bench, in page order: per group, per metric, per workload; then the group's line chart. */
export function buildCharts(summary: readonly SummaryRow[], runs: readonly BenchRun[]): Chart[] {
  const d = domainsOf(summary);
  const failing = notConverged(summary);
  const charts: Chart[] = [];
  groupsOf(summary).forEach((g, gi) => {
    const rows = summary.filter((s) => inGroup(s, g));
    for (const spec of BAR_CHARTS) {
      d.workloads.forEach((w, wi) => {
        const data = rows.filter((r) => r.metric === spec.metric && r.labels.workload === w);
        if (data.length > 0) charts.push(barChart(spec, g, gi, w, wi, data, d, failing));
      });
    }
    const groupRuns = runs.filter((r) => r.planned.scenario.labels.mode === g.mode && r.planned.scenario.labels.vm === g.vm && r.planned.scenario.labels.policy === g.policy);
    charts.push(lineChart(g, gi, groupRuns, d));
  });
  return charts;
}

function barChart(spec: BarSpec, g: Group, gi: number, workload: string, wi: number, rows: readonly SummaryRow[], d: Domains, failing: ReadonlySet<string>): Chart {
  const data = rows.map((r) => ({
    network: r.labels.network,
    transport: r.labels.transport,
    y: r.median * spec.scale,
    lo: r.min * spec.scale,
    hi: r.max * spec.scale,
    failed: failing.has(r.scenario),
  }));
  type D = (typeof data)[number];
  const top = Math.max(...data.map((x) => x.hi), spec.target ? spec.target.value * 1.08 : 0, 1e-9);
  const marks: Plot.Markish[] = [
    Plot.barY(data, { fx: 'network', x: 'transport', y: 'y', fill: 'transport', title: (x: D) => `${x.network} ${x.transport} ${workload}: median ${short(x.y)} ${spec.unit} (runs ${short(x.lo)}-${short(x.hi)})${x.failed ? ', NOT CONVERGED in some run' : ''}` }),
    Plot.ruleX(data, { fx: 'network', x: 'transport', y1: 'lo', y2: 'hi', stroke: 'black', strokeWidth: 1.5 }),
    // A bar of height 0 is invisible: say 0 in its colour, so zero and missing look different.
    Plot.text(
      data.filter((x) => x.y === 0),
      { fx: 'network', x: 'transport', y: 0, text: () => '0', dy: -7, fill: 'transport', fontSize: 11, fontWeight: 'bold' },
    ),
    Plot.text(
      data.filter((x) => x.failed),
      { fx: 'network', x: 'transport', y: 'hi', text: () => '✕', dy: -8, fill: NOT_CONVERGED_COLOR, fontSize: 13, fontWeight: 'bold' },
    ),
    Plot.frame({ stroke: '#ddd' }),
  ];
  if (spec.target) {
    marks.push(Plot.ruleY([spec.target.value], { stroke: NOT_CONVERGED_COLOR, strokeDasharray: '5,3', strokeWidth: 1.5 }));
    marks.push(Plot.text([spec.target.value], { y: (v: number) => v, text: () => spec.target!.label, frameAnchor: 'right', dy: -7, fill: NOT_CONVERGED_COLOR, fontSize: 10, facetAnchor: 'right' } as Plot.TextOptions));
  }
  const svg = render({
    width: Math.max(300, 26 * d.transports.length * d.networks.length + 70),
    height: 230,
    marginLeft: 52,
    marginTop: 28,
    marginBottom: 30,
    fx: { domain: d.networks, label: null, padding: 0.12, tickSize: 0 },
    x: { domain: d.transports, axis: null, padding: 0.12 },
    y: { label: spec.unit, grid: true, domain: [0, top], nice: true, tickFormat: '~s' },
    color: { domain: d.transports, range: TRANSPORT_COLORS },
    marks,
  });
  return { id: `${spec.metric}--${gi}--${wi}`, kind: 'bars', metric: spec.metric, title: spec.title, group: g, workload, marks: data.length, svg };
}

function lineChart(g: Group, gi: number, runs: readonly BenchRun[], d: Domains): Chart {
  // Median dirty pages after each round, over the repeats of each scenario that reach that round.
  const acc = new Map<string, { network: string; transport: string; workload: string; round: number; values: number[] }>();
  for (const r of runs) {
    const l = r.planned.scenario.labels;
    for (const round of r.result.rounds) {
      const k = `${l.network}\u0000${l.transport}\u0000${l.workload}\u0000${round.round}`;
      const a = acc.get(k) ?? { network: l.network, transport: l.transport, workload: l.workload, round: round.round, values: [] };
      a.values.push(round.dirty_pages_after);
      acc.set(k, a);
    }
  }
  const median = (xs: number[]): number => {
    const s = [...xs].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
  };
  // A log scale cannot show 0: rounds that end with no dirty page (the blackout always does) are not drawn.
  const data = [...acc.values()].map((a) => ({ ...a, y: median(a.values) })).filter((a) => a.y > 0);
  const series = new Set(data.map((x) => `${x.network}/${x.transport}/${x.workload}`)).size;
  const svg = render({
    width: Math.max(640, 170 * d.workloads.length + 120),
    height: 130 * d.transports.length + 90,
    marginRight: 100,
    fx: { domain: d.workloads, label: 'workload' },
    fy: { domain: d.transports, label: 'transport' },
    x: { label: 'round', grid: true },
    y: { type: 'log', label: 'dirty pages (log scale)', grid: true, tickFormat: '~s' },
    color: { domain: d.networks, legend: true },
    marks: [Plot.line(data, { fx: 'workload', fy: 'transport', x: 'round', y: 'y', stroke: 'network', z: 'network', marker: 'circle' }), Plot.frame({ stroke: '#ddd' })],
  });
  return { id: `${LINE_CHART.id}--${gi}`, kind: 'lines', metric: LINE_CHART.id, title: LINE_CHART.title, group: g, workload: '', marks: series, svg };
}
