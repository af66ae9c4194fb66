// The evacuation chart on synthetic data: the component takes plain rows; the bench report draws one per
// evacuation scenario of the matrix.
import { describe, expect, it } from 'vitest';
import { parseHTML } from 'linkedom';
import { parseMatrix } from '../../src/bench/matrix.js';
import { planMatrix } from '../../src/bench/plan.js';
import type { BenchEvacuation, BenchRun } from '../../src/bench/runner.js';
import { simulateEvacuation } from '../../src/evacuation/simulate.js';
import { evacuationSpec } from '../../src/evacuation/spec.js';
import { benchMeta } from '../../src/report/meta.js';
import { ganttChart, type EvacuationData } from '../../src/report/gantt.js';
import { reportHtml } from '../../src/report/html.js';
import { simulate } from '../../src/drivers/sim/index.js';
import { resolveScenario } from '../../src/scenario.js';

const evacuation: EvacuationData = {
  migrations: [
    { name: 'vm-b', start_s: 0, end_s: 40, outcome: 'completed' },
    { name: 'vm-a', start_s: 0, end_s: 25, outcome: 'completed' },
    { name: 'vm-c', start_s: 25, end_s: 70, outcome: 'completed' },
    { name: 'vm-d', start_s: 40, end_s: 52, outcome: 'rolled_back' },
  ],
  links: [0, 10, 20, 30, 40, 50, 60, 70].flatMap((t) => [
    { t_s: t, link: 'nic1', bytes_per_s: (t < 70 ? 0.95 : 0) * 1.25e9, utilisation: t < 70 ? 0.95 : 0 },
    { t_s: t, link: 'nic2', bytes_per_s: (t < 40 ? 0.9 : t < 70 ? 0.45 : 0) * 1.25e9, utilisation: t < 40 ? 0.9 : t < 70 ? 0.45 : 0 },
  ]),
};

describe('evacuation Gantt chart', () => {
  it('draws a bar per migration from start to end, coloured by outcome, and a line per link', () => {
    const g = ganttChart(evacuation, 'drain host1');
    expect(g).toMatchObject({ bars: 4, links: 2, makespan_s: 70 });
    const { document } = parseHTML(`<html><body>${g.svg}</body></html>`);
    const bars = Array.from(document.querySelectorAll('g[aria-label="bar"] rect')) as unknown as { getAttribute(n: string): string | null }[];
    expect(bars).toHaveLength(4);
    // Bars sorted by start: vm-a (0-25) is as wide as 25/40 of vm-b (0-40); vm-c starts where vm-a ends.
    const box = bars.map((b) => ({ x: Number(b.getAttribute('x')), w: Number(b.getAttribute('width')), fill: b.getAttribute('fill') }));
    expect(box[0]!.w / box[1]!.w).toBeCloseTo(25 / 40, 1);
    expect(box[2]!.x).toBeCloseTo(box[0]!.x + box[0]!.w, 0);
    expect(new Set(box.map((b) => b.fill)).size).toBe(2); // completed and rolled_back
    expect(document.querySelectorAll('g[aria-label="line"] path')).toHaveLength(2);
    expect(g.svg).toContain('drain host1: 4 migrations, makespan 70 s');
    expect(g.svg).toContain('Link utilisation');
    expect(g.svg).toContain('utilisation (%)');
  });

  it('a link without a known capacity (loopback): every link drawn as throughput in Gbit/s instead', () => {
    const links = evacuation.links.map((s) => (s.link === 'nic2' ? { ...s, utilisation: null } : s));
    const g = ganttChart({ ...evacuation, links }, 'drain over loopback');
    expect(g.links).toBe(2);
    expect(g.svg).toContain('Link throughput');
    expect(g.svg).toContain('throughput (Gbit/s)');
    expect(g.svg).not.toContain('utilisation (%)');
    const { document } = parseHTML(`<html><body>${g.svg}</body></html>`);
    expect(document.querySelectorAll('g[aria-label="line"] path')).toHaveLength(2);
  });

  it('report.html has an Evacuations section when the bench has evacuation runs, and none otherwise', () => {
    const loaded = parseMatrix(
      'axes: {modes: [cluster], networks: [1g], transports: [tcp], workloads: [idle], vms: [512MiB], policies: [hyperv]}\nevacuations: {axes: {vms: [3], maxLive: [1, 2], networks: [10g], transports: [tcp]}, set: {memory: 512MiB, workload: idle}}',
      'm.yaml',
      'yaml',
    );
    const plan = planMatrix(loaded);
    const planned = plan.runs[0]!;
    const result = simulate(resolveScenario({ ...planned.scenario.input, seed: planned.seed }));
    const meta = benchMeta({ reportId: 'x', plan, matrix: loaded.matrix, file: 'm.yaml', threads: 1, runsFinished: 1, interrupted: false, startedAt: new Date(), finishedAt: new Date(), wallS: 1, root: process.cwd(), nondeterministic: [] });
    const plain: BenchRun = { planned, result, wallMs: 1 };
    const evacuations: BenchEvacuation[] = plan.evacuations!.runs.map((p) => {
      const input = { ...p.scenario.input, seed: p.seed };
      return { planned: p, result: simulateEvacuation(evacuationSpec(p.scenario.evacuation, input, resolveScenario(input).memoryBytes)), wallMs: 1, cpuMs: null };
    });
    expect(reportHtml({ meta, summary: [], runs: [plain] }).html).not.toContain('Evacuations');
    const html = reportHtml({ meta, summary: [], runs: [plain], evacuations }).html;
    expect(html).toContain('<h2 id="evacuations">Evacuations</h2>');
    // A Gantt chart per scenario (two: max-live 1 and 2), each with a bar per VM.
    expect(html.match(/data-chart="evacuation" data-kind="gantt" data-marks="3"/g)).toHaveLength(2);
    expect(html).toContain('data-scenario="evacuation/10g/tcp/3vms/live2"');
    // The makespan against max-live: one series (10g tcp) over max-live 1 and 2, and the table of figures.
    expect(html).toMatch(/<figure class="chart" id="evacuation-makespan--0" data-chart="evacuation-makespan" data-kind="lines" data-marks="1" data-vms="3">/);
    const { document } = parseHTML(html);
    const table = document.querySelector('#evacuation-makespan-table--0')!;
    type El = { textContent: string | null; querySelectorAll(s: string): ArrayLike<El> };
    const cells = Array.from((table as unknown as El).querySelectorAll('tr')).map((tr) => Array.from(tr.querySelectorAll('td, th')).map((c) => c.textContent));
    expect(cells[0]).toEqual(['network', 'transport', 'max-live 1', 'max-live 2']);
    expect(cells[1]!.slice(0, 2)).toEqual(['10g', 'tcp']);
    // One TCP stream at a time is slower than two at once on 10GbE (a stream's cap is under the NIC's rate).
    expect(evacuations[0]!.result.makespan_s).toBeGreaterThan(evacuations[1]!.result.makespan_s);
  });
});
