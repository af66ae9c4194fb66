// An evacuation's files (`migbench evacuate --out DIR`): evacuation.csv (a row per VM), timeline.csv
// (each link's utilisation over time), links.csv (each link's mean and peak), evacuation.json (the whole
// result) and report.html (the summary, a Gantt chart of the VMs and the links' utilisation). Columns are
// documented in docs/evacuation.md.

import type { EvacuationResult } from '../evacuation/types.js';
import { toCsv } from './csv.js';
import { ganttChart } from './gantt.js';
import { escapeHtml } from './escape.js';
import { formatDuration, formatRate } from '../units/index.js';

export const EVACUATION_COLUMNS = [
  'name',
  'source',
  'destination',
  'mode',
  'running',
  'memory_bytes',
  'outcome',
  'rollback_reason',
  'queued_s',
  'start_s',
  'end_s',
  'total_time_s',
  'downtime_ms',
  'memory_bytes_sent',
  'total_bytes_sent',
  'storage_bytes_copied',
  'converged',
  'missed_pings',
  'verified',
  'note',
] as const;

export const TIMELINE_COLUMNS = ['t_s', 'link', 'bytes_per_s', 'utilisation'] as const;
export const LINK_COLUMNS = ['link', 'capacity_bps', 'mean_bytes_per_s', 'peak_bytes_per_s', 'mean_utilisation', 'peak_utilisation'] as const;

export function evacuationCsv(r: EvacuationResult): string {
  return toCsv(EVACUATION_COLUMNS, r.vms as unknown as Record<string, string | number | boolean | null>[]);
}

export function timelineCsv(r: EvacuationResult): string {
  return toCsv(TIMELINE_COLUMNS, r.timeline.samples as unknown as Record<string, string | number | null>[]);
}

export function linksCsv(r: EvacuationResult): string {
  return toCsv(LINK_COLUMNS, r.links as unknown as Record<string, string | number>[]);
}

/** The rows the Gantt chart draws (for `evacuate --out`'s report.html and each evacuation scenario of a bench's). */
export function evacuationData(r: EvacuationResult) {
  return {
    migrations: r.vms.filter((v) => v.outcome !== 'unplaced').map((v) => ({ name: v.name, start_s: v.start_s, end_s: v.end_s, outcome: v.outcome })),
    links: r.timeline.samples,
  };
}

export function evacuationHtml(r: EvacuationResult, title: string): string {
  const chart = ganttChart(evacuationData(r), title);
  const pct = (x: number) => `${Math.round(x * 100)}%`;
  const rows: [string, string][] = [
    ['makespan', formatDuration(r.makespan_s)],
    ...(r.window_s !== null ? [['window', `${formatDuration(r.window_s)}: ${r.fits_window ? `fits, ${formatDuration(r.window_margin_s!)} to spare` : `does not fit (${r.window_margin_s! < 0 ? `${formatDuration(-r.window_margin_s!)} over` : 'not every VM moved'})`}`] as [string, string]] : []),
    ['moved', `${r.moved} of ${r.migrations} move(s) of ${r.vm_count} VM(s) (${r.failed} rolled back, ${r.unplaced} unplaced)`],
    ['at once', `at most ${r.peak_live} live and ${r.peak_storage} storage migrations (limits ${r.max_live} and ${r.max_storage} per host)`],
    ...r.links.map(
      (l) =>
        [
          l.link,
          l.capacity_bps === null || l.mean_utilisation === null || l.peak_utilisation === null
            ? `${formatRate(l.mean_bytes_per_s)} mean, ${formatRate(l.peak_bytes_per_s)} peak (capacity unknown)`
            : `${pct(l.mean_utilisation)} mean, ${pct(l.peak_utilisation)} peak of ${formatRate(l.capacity_bps / 8)}`,
        ] as [string, string],
    ),
  ];
  const table = rows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('');
  const vms = r.vms
    .map((v) => `<tr><td>${escapeHtml(v.name)}</td><td>${escapeHtml(v.destination ?? '-')}</td><td>${escapeHtml(v.outcome)}</td><td>${formatDuration(v.start_s)}</td><td>${formatDuration(v.total_time_s)}</td><td>${v.downtime_ms.toFixed(1)}</td><td>${escapeHtml(v.note ?? v.rollback_reason ?? '')}</td></tr>`)
    .join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:960px}table{border-collapse:collapse;margin:1em 0}th,td{text-align:left;padding:2px 10px;border-bottom:1px solid #eee}.gantt-caption{font-weight:600;margin-top:1em}</style></head>
<body><h1>${escapeHtml(title)}</h1><table>${table}</table>
<section class="chart" id="evacuation">${chart.svg}</section>
<h2>VMs</h2><table><tr><th>VM</th><th>destination</th><th>outcome</th><th>start</th><th>total</th><th>downtime (ms)</th><th>note</th></tr>${vms}</table></body></html>
`;
}
