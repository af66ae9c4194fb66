// The evacuation chart of report.html: a Gantt chart of the migrations of one evacuation (a bar per VM
// from its start to its end, coloured by outcome), and under it each link's utilisation over the same
// time axis. It takes plain rows, so any engine or planner can feed it:
//
//   migrations: { name, start_s, end_s, outcome }      seconds since the evacuation began
//   links:      { t_s, link, bytes_per_s, utilisation } each link (NIC) over a slice; utilisation 0..1,
//                                                      null where the capacity is unknown (then the
//                                                      chart shows every link's throughput instead)
//
// `migbench evacuate --out` draws one for its drain, and the bench's report.html one per evacuation
// scenario of the matrix (evacuation-section.ts); both take the rows from evacuationData() in
// evacuation.ts.

import * as Plot from '@observablehq/plot';
import { render } from './charts.js';

export interface GanttRow {
  name: string;
  start_s: number;
  end_s: number;
  /** `completed`, `rolled_back`, `queued`, `no_capacity`, ... (the colour). */
  outcome: string;
}

export interface LinkSample {
  t_s: number;
  link: string;
  /** Bytes/s the link carried. */
  bytes_per_s: number;
  /** Share of the link's capacity in use, 0..1 (null: capacity unknown). */
  utilisation: number | null;
}

export interface EvacuationData {
  migrations: GanttRow[];
  links: LinkSample[];
}

export const OUTCOME_COLORS: Record<string, string> = { completed: '#3ca951', rolled_back: '#b00020', queued: '#9aa0a6', no_capacity: '#ff725c' };

export interface GanttChart {
  svg: string;
  /** Bars drawn, and link series drawn. */
  bars: number;
  links: number;
  /** When the last migration ended, seconds. */
  makespan_s: number;
}

const escapeXml = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export function ganttChart(data: EvacuationData, title = 'Evacuation'): GanttChart {
  const rows = [...data.migrations].sort((a, b) => a.start_s - b.start_s || a.name.localeCompare(b.name));
  const makespan = Math.max(...rows.map((r) => r.end_s), ...data.links.map((s) => s.t_s), 0);
  const outcomes = [...new Set(rows.map((r) => r.outcome))];
  const x = { domain: [0, makespan || 1], label: 'seconds since the evacuation began', grid: true };
  const width = 760;
  const caption = `${title}: ${rows.length} migrations, makespan ${Number(makespan.toPrecision(3))} s`;
  const gantt = render({
    width,
    height: Math.max(120, 22 * rows.length + 60),
    marginLeft: 120,
    x,
    y: { domain: rows.map((r) => r.name), label: null },
    color: { domain: outcomes, range: outcomes.map((o) => OUTCOME_COLORS[o] ?? '#4269d0'), legend: true },
    marks: [
      Plot.barX(rows, { x1: 'start_s', x2: 'end_s', y: 'name', fill: 'outcome', title: (r: GanttRow) => `${r.name}: ${r.start_s}-${r.end_s} s, ${r.outcome}` }),
      Plot.frame({ stroke: '#ddd' }),
    ],
  });
  const linkNames = [...new Set(data.links.map((s) => s.link))];
  // Shares of capacity when every link has one; otherwise (loopback) what each carried, in Gbit/s.
  const shares = data.links.every((s) => s.utilisation !== null);
  const util =
    linkNames.length === 0
      ? ''
      : render({
          width,
          height: 160,
          marginLeft: 120,
          x,
          y: shares ? { domain: [0, 100], label: 'utilisation (%)', grid: true } : { label: 'throughput (Gbit/s)', grid: true, zero: true },
          color: { domain: linkNames, legend: true },
          marks: [
            Plot.line(data.links, { x: 't_s', y: (s: LinkSample) => (shares ? s.utilisation! * 100 : (s.bytes_per_s * 8) / 1e9), stroke: 'link', z: 'link', curve: 'step-after' }),
            Plot.frame({ stroke: '#ddd' }),
          ],
        });
  const svg = `<div class="gantt-caption">${escapeXml(caption)}</div>${gantt}${util ? `<div class="gantt-caption">${shares ? 'Link utilisation' : 'Link throughput'}</div>${util}` : ''}`;
  return { svg, bars: rows.length, links: linkNames.length, makespan_s: makespan };
}
