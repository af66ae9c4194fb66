// The HTML report in a real browser: Debian's headless Chromium driven by playwright-core, with a
// screenshot of every chart checked for drawn marks. CI installs chromium (.ci/run); where it is missing
// this test is skipped with a message saying so.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { memoryIo } from '../../src/cli/io.js';
import { run } from '../../src/cli/main.js';
import { BAR_CHARTS, LINE_CHART } from '../../src/report/charts.js';
import { chartProblem, inkOf } from './pixels.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`test/report/html.test.ts: SKIPPED: ${CHROMIUM} not found (apt-get install -y chromium; .ci/run installs it)`);
// In CI the browser is installed by .ci/run: a skip there would hide a broken install step.
it.runIf(process.env['CI'] === 'true')('has Chromium in CI (installed by .ci/run)', () => {
  expect(hasChromium, `${CHROMIUM} missing in CI`).toBe(true);
});

// churn does not converge under the policies' pass limits on 1g: the overview must say so.
const MATRIX = `
repeats: 2
axes:
  modes: [cluster]
  networks: [1g, 10g]
  transports: [tcp, smb]
  workloads: [idle, oltp, churn]
  vms: [{ name: "<i>tiny</i> & co", memory: 1GiB }]
  policies: [hyperv, xen]
evacuations:
  axes: { vms: [3], maxLive: [1, 2], networks: [10g], transports: [tcp, smb] }
  set: { memory: 1GiB, workload: idle }
  repeats: 1
`;

describe.skipIf(!hasChromium)('report.html in headless Chromium', () => {
  let context: BrowserContext;
  let page: Page;
  const requests: string[] = [];
  const errors: string[] = [];
  let html = '';

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'migbench-html-'));
    writeFileSync(join(dir, 'm.yaml'), MATRIX);
    const io = memoryIo();
    expect(await run(['node', 'migbench', 'bench', '--matrix', join(dir, 'm.yaml'), '--reports', join(dir, 'reports'), '--name', 'r'], io)).toBe(0);
    const file = join(dir, 'reports', 'r', 'report.html');
    html = readFileSync(file, 'utf8');
    context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'migbench-chromium-')), {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1400, height: 900 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await context.newPage();
    page.on('request', (r) => requests.push(r.url()));
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  });

  afterAll(async () => {
    await context?.close();
  });

  it('is self-contained: no script, and no request but the page itself', () => {
    expect(html).not.toMatch(/<script|<link|src="http|href="http/i);
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatch(/^file:\/\/.*report\.html$/);
    expect(errors).toEqual([]);
  });

  it('opens with the overview: per network the best transport, its median total time and downtime, non-converged flagged', async () => {
    const h2 = await page.$$eval('h2', (hs) => hs.map((h) => h.textContent));
    expect(h2[0]).toBe('Overview');
    type El = { textContent: string | null; querySelectorAll(s: string): ArrayLike<El> };
    const tables = await page.$$eval('table.overview', (ts) =>
      ts.map((t) => Array.from((t as unknown as El).querySelectorAll('tr')).map((tr) => Array.from(tr.querySelectorAll('td, th')).map((c) => c.textContent ?? ''))),
    );
    expect(tables).toHaveLength(2); // two policies
    for (const t of tables) {
      expect(t[0]).toEqual(['network', 'best transport', 'idle: total / downtime', 'oltp: total / downtime', 'churn: total / downtime']);
      expect(t.slice(1).map((r) => r[0])).toEqual(['1g', '10g']);
      for (const r of t.slice(1)) {
        expect(['tcp', 'smb']).toContain(r[1]);
        for (const c of r.slice(2)) expect(c).toMatch(/^[\d.]+ (s|ms|min) .*\/ [\d.]+ (ms|s)/);
      }
    }
    // The overview is above the first chart.
    const top = async (sel: string) => (await (await page.$(sel))!.boundingBox())!.y;
    const [overviewY, chartY] = [await top('table.overview'), await top('figure.chart')];
    expect(overviewY).toBeLessThan(chartY);
    // churn on 1g does not converge in these runs: flagged in the overview, in a list and in the charts.
    expect(await page.$$eval('[data-not-converged]', (x) => x.length)).toBeGreaterThan(0);
    expect(await page.textContent('body')).toMatch(/Did not converge in some run \(\d+ scenarios?, any transport\): 1g\/\w+\/churn/);
  });

  it('has a chart per metric and workload for each group, each workload on its own scale, medians and the 300 ms line', async () => {
    const charts = await page.$$eval('figure.chart:not([data-chart^="evacuation"])', (figs) =>
      figs.map((f) => ({
        id: f.id,
        chart: f.getAttribute('data-chart'),
        kind: f.getAttribute('data-kind'),
        workload: f.getAttribute('data-workload'),
        marks: Number(f.getAttribute('data-marks')),
        bars: f.querySelectorAll('g[aria-label="bar"] rect').length,
        lines: f.querySelectorAll('g[aria-label="line"] path').length,
        yTicks: Array.from(f.querySelectorAll('g[aria-label="y-axis tick label"] text') as ArrayLike<{ textContent: string | null }>).map((t) => t.textContent ?? ''),
        dashed: f.querySelectorAll('g[aria-label="rule"][stroke-dasharray], g[aria-label="rule"] [stroke-dasharray]').length,
        text: f.textContent ?? '',
      })),
    );
    const expected = [0, 1].flatMap((g) => [...BAR_CHARTS.flatMap((c) => [0, 1, 2].map((w) => `${c.metric}--${g}--${w}`)), `${LINE_CHART.id}--${g}`]);
    expect(charts.map((c) => c.id).sort()).toEqual(expected.sort());
    for (const c of charts) {
      if (c.kind === 'bars') {
        expect(c.marks, c.id).toBe(4); // 2 networks x 2 transports
        expect(c.bars, c.id).toBe(4);
      } else {
        expect(c.marks, c.id).toBeGreaterThan(0);
        expect(c.lines, c.id).toBe(c.marks);
      }
      if (c.chart === 'downtime_ms') {
        expect(c.dashed, c.id).toBeGreaterThan(0);
        expect(c.text, c.id).toContain('300 ms target');
      } else expect(c.dashed, c.id).toBe(0);
    }
    // Own scales: idle's and churn's downtime axes end at different values.
    const axisTop = (id: string) => charts.find((c) => c.id === id)!.yTicks.at(-1);
    expect(axisTop('downtime_ms--0--0')).not.toBe(axisTop('downtime_ms--0--2'));
    expect(axisTop('total_time_s--0--0')).not.toBe(axisTop('total_time_s--0--2'));
    expect(html).toContain('Bars: the median of the repeats');
  });

  it('screenshots: every chart shows drawn marks (not empty, not only axes)', async () => {
    await page.$$eval('details', (ds) => ds.forEach((d) => d.setAttribute('open', '')));
    const figures = await page.$$('figure.chart');
    expect(figures.length).toBe(26 + 4 + 1); // and 4 evacuation Gantt charts, 1 makespan chart
    for (const f of figures) {
      const id = await f.getAttribute('id');
      // An evacuation figure's colour legend is coloured even with nothing drawn: its plots alone are checked.
      const evacuation = (await f.getAttribute('data-chart'))!.startsWith('evacuation');
      for (const target of evacuation ? await f.$$('svg[viewBox]') : [f]) {
        const problem = chartProblem(inkOf(await target.screenshot()));
        expect(problem, `${id}: ${problem}`).toBeNull();
      }
    }
  });

  it('evacuations: the makespan against max-live per network and transport, and a Gantt chart per scenario that draws its bars', async () => {
    const figs = await page.$$eval('figure[data-chart^="evacuation"]', (fs) =>
      fs.map((f) => ({
        id: f.id,
        kind: f.getAttribute('data-kind'),
        marks: Number(f.getAttribute('data-marks')),
        bars: f.querySelectorAll('g[aria-label="bar"] rect').length,
        lines: f.querySelectorAll('g[aria-label="line"] path').length,
        dots: f.querySelectorAll('g[aria-label="dot"] circle').length,
      })),
    );
    expect(figs.map((f) => f.id)).toEqual(['evacuation-makespan--0', 'evacuation--0', 'evacuation--1', 'evacuation--2', 'evacuation--3']);
    expect(figs[0]).toMatchObject({ kind: 'lines', marks: 2, lines: 2, dots: 4 }); // 10g tcp and 10g smb, at max-live 1 and 2
    for (const g of figs.slice(1)) expect(g).toMatchObject({ kind: 'gantt', marks: 3, bars: 3 }); // a bar per VM
    type El = { textContent: string | null; querySelectorAll(s: string): ArrayLike<El> };
    const table = await page.$$eval('#evacuation-makespan-table--0 tr', (trs) => trs.map((tr) => Array.from((tr as unknown as El).querySelectorAll('td, th')).map((c) => c.textContent ?? '')));
    expect(table[0]).toEqual(['network', 'transport', 'max-live 1', 'max-live 2']);
    expect(table.slice(1).map((r) => r.slice(0, 2))).toEqual([['10g', 'tcp'], ['10g', 'smb']]);
    for (const r of table.slice(1)) for (const c of r.slice(2)) expect(c).toMatch(/^[\d.]+ (s|min)$/);

    // The check is meaningful for a Gantt chart: its plot without the bars (legend aside) has no marks.
    const gantt = await page.$eval('#evacuation--0', (f) => f.outerHTML);
    const check = await context.newPage();
    try {
      await check.setContent(`<!doctype html><body style="margin:0;background:#fff">${gantt}</body>`);
      const bars = await check.$('figure svg[viewBox]');
      expect(chartProblem(inkOf(await bars!.screenshot()))).toBeNull();
      await check.$$eval('figure svg[viewBox] g[aria-label="bar"]', (gs) => (gs as unknown as { remove(): void }[]).forEach((g) => g.remove()));
      expect(chartProblem(inkOf(await bars!.screenshot()))).toMatch(/no marks drawn/);
    } finally {
      await check.close();
    }
  });

  it('the screenshot check fails on an empty or a broken chart', async () => {
    const real = await page.$eval('figure[data-chart="total_time_s"]', (f) => f.outerHTML);
    const check = await context.newPage();
    try {
      // The same chart with its marks removed (axes only), an SVG whose marks did not render, and nothing at all.
      await check.setContent(
        `<!doctype html><body style="margin:0;background:#fff">${real}<figure id="axes">${real}</figure>` +
          `<figure id="broken"><svg width="600" height="230"><rect x="NaN" y="NaN" width="NaN" height="NaN" fill="#4269d0"/></svg></figure>` +
          `<figure id="empty"><svg width="600" height="230"></svg></figure></body>`,
      );
      type Removable = { remove(): void };
      const removed = await check.$$eval('#axes g[aria-label="bar"], #axes g[aria-label="rule"], #axes g[aria-label="text"]', (gs) => {
        (gs as unknown as Removable[]).forEach((g) => g.remove());
        return gs.length;
      });
      expect(removed).toBeGreaterThan(0);
      const shot = async (sel: string) => chartProblem(inkOf(await (await check.$(sel))!.screenshot()));
      expect(await shot('figure.chart')).toBeNull();
      expect(await shot('#axes')).toMatch(/empty|no marks drawn/);
      expect(await shot('#broken')).toMatch(/empty/);
      expect(await shot('#empty')).toMatch(/empty/);
    } finally {
      await check.close();
    }
  });

  it('shows labels as text, escaped', async () => {
    const summaries = await page.$$eval('details > summary', (s) => s.map((x) => x.textContent));
    expect(summaries).toContain('cluster migration, VM <i>tiny</i> & co, policy hyperv');
    expect(await page.$$eval('h2 i, h3 i, summary i', (x) => x.length)).toBe(0);
    const cells = await page.$$eval('table td', (tds) => tds.map((t) => t.textContent ?? ''));
    expect(cells.some((t) => t.startsWith('cluster/10g/smb/oltp/<i>tiny</i> & co/xen'))).toBe(true);
  });
});
