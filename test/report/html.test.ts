// The HTML report in a real browser: Debian's headless Chromium driven by playwright-core. CI installs
// chromium (.ci/run); where it is missing this test is skipped with a message saying so.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { memoryIo } from '../../src/cli/io.js';
import { run } from '../../src/cli/main.js';
import { BAR_CHARTS, LINE_CHART } from '../../src/report/charts.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`test/report/html.test.ts: SKIPPED: ${CHROMIUM} not found (apt-get install -y chromium; .ci/run installs it)`);
// In CI the browser is installed by .ci/run: a skip there would hide a broken install step.
it.runIf(process.env['CI'] === 'true')('has Chromium in CI (installed by .ci/run)', () => {
  expect(hasChromium, `${CHROMIUM} missing in CI`).toBe(true);
});

const MATRIX = `
repeats: 2
axes:
  modes: [cluster]
  networks: [1g, 10g]
  transports: [tcp, smb]
  workloads: [idle, oltp]
  vms: [{ name: "<i>tiny</i> & co", memory: 1GiB }]
  policies: [hyperv, xen]
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

  it('has every chart for each mode/VM/policy group, rendered with its marks', async () => {
    const ids = [...BAR_CHARTS.map((c) => c.metric), LINE_CHART.id];
    const charts = await page.$$eval('figure.chart', (figs) =>
      figs.map((f) => {
        // The chart is the largest SVG in the figure (the legend swatches are small ones).
        type Boxed = { getBoundingClientRect(): { width: number; height: number } };
        const boxes = Array.from(f.querySelectorAll('svg') as ArrayLike<Boxed>).map((s) => s.getBoundingClientRect());
        const box = boxes.reduce((a, b) => (b.width * b.height > a.width * a.height ? b : a), { width: 0, height: 0 } as { width: number; height: number });
        return {
          id: f.id,
          kind: f.getAttribute('data-kind'),
          marks: Number(f.getAttribute('data-marks')),
          bars: f.querySelectorAll('g[aria-label="bar"] rect').length,
          lines: f.querySelectorAll('g[aria-label="line"] path').length,
          width: box.width,
          height: box.height,
        };
      }),
    );
    // Two groups (policies hyperv and xen) x five charts.
    expect(charts.map((c) => c.id).sort()).toEqual([0, 1].flatMap((g) => ids.map((id) => `${id}--${g}`)).sort());
    for (const c of charts) {
      expect(c.width, c.id).toBeGreaterThan(300);
      expect(c.height, c.id).toBeGreaterThan(200);
      if (c.kind === 'bars') {
        expect(c.marks, c.id).toBe(8); // 2 networks x 2 transports x 2 workloads
        expect(c.bars, c.id).toBe(8);
      } else {
        expect(c.marks, c.id).toBeGreaterThan(0);
        expect(c.lines, c.id).toBe(c.marks);
      }
    }
  });

  it('shows labels as text, escaped', async () => {
    const h2 = await page.$$eval('h2', (hs) => hs.map((h) => h.textContent));
    expect(h2).toContain('cluster migration, VM <i>tiny</i> & co, policy hyperv');
    expect(await page.$$eval('h2 i', (x) => x.length)).toBe(0);
    const cells = await page.$$eval('table td', (tds) => tds.map((t) => t.textContent ?? ''));
    expect(cells.some((t) => t.startsWith('cluster/10g/smb/oltp/<i>tiny</i> & co/xen'))).toBe(true);
  });
});
