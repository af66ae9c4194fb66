// The nightly's history CSV and trend chart, and the threshold check that feeds it (bench/nightly-check.ts,
// run compiled, as the workflow runs it).
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appendHistory, historyCsv, historyHtml, readHistory, type HistoryRow } from '../../src/report/history.js';

const row = (date: string, metric: string, value: number, status: HistoryRow['status'] = 'ok'): HistoryRow => ({ date, git_revision: 'abc', run_id: date, metric, value, unit: 'x', baseline: 0.5, limit: 0.4, limit_kind: 'min', status });

describe('history', () => {
  it('appends a night, replacing the same night, and survives a CSV round trip', () => {
    let h = appendHistory([], [row('2026-12-01T03:17:00Z', 'transport.ratio_vs_iperf3_4ch', 0.55)]);
    h = appendHistory(h, [row('2026-12-02T03:17:00Z', 'transport.ratio_vs_iperf3_4ch', 0.52)]);
    h = appendHistory(h, [row('2026-12-02T03:17:00Z', 'transport.ratio_vs_iperf3_4ch', 0.53)]); // re-run of the same night
    expect(h.map((r) => r.value)).toEqual([0.55, 0.53]);
    expect(readHistory(historyCsv(h), 'h.csv')).toEqual(h);
    expect(readHistory('', 'h.csv')).toEqual([]);
    expect(() => readHistory('a,b\r\n1,2\r\n', 'h.csv')).toThrow(/h\.csv: expected a history CSV with the columns date, git_revision/);
  });

  it('draws one trend chart per metric, with the nights as points', () => {
    const h = ['01', '02', '03'].flatMap((d, i) => [row(`2026-12-${d}T03:17:00Z`, 'a.metric', 1 + i), row(`2026-12-${d}T03:17:00Z`, 'b.metric', 5 - i, i === 2 ? 'fail' : 'ok')]);
    const { html, charts } = historyHtml(h);
    expect(charts).toBe(2);
    expect(html).toContain('3 nights, 2 metrics');
    expect(html.match(/<figure class="chart" data-metric="[ab]\.metric" data-marks="3">/g)).toHaveLength(2);
    expect(html).toContain('#b00020'); // the failed night's dot
    expect(html).not.toMatch(/<script/i);
  });
});

describe('bench/nightly-check (compiled)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'migbench-nightly-'));
  const transportCsv = (ratio: number) =>
    'config,channels,tls,sink,sha256,bytes,migbench_gbps,iperf3_gbps,ratio_vs_iperf3,iperf3_l1m_gbps,ratio_vs_iperf3_l1m,migbench_best_gbps,iperf3_best_gbps,migbench_cpu_s_per_gib,iperf3_cpu_s_per_gib,cpu_ratio_vs_iperf3,commit_s,status\r\n' +
    `plain,1,false,discard,false,1073741824,6.6,14.6,0.45,16.7,0.39,7.1,14.7,1.28,0.56,2.3,0,ok\r\n` +
    `plain,4,false,discard,false,1073741824,8.3,15,${ratio},16.8,0.49,9.5,15.2,1.04,0.55,1.87,0,ok\r\n`;
  const check = (...args: string[]) => spawnSync(process.execPath, ['dist/bench/nightly-check.js', ...args, '--date', '2026-12-03T03:17:00Z', '--revision', 'r1', '--run-id', '7'], { encoding: 'utf8' });

  it('passes figures within their limits and writes the night for the history', () => {
    writeFileSync(join(dir, 'ok.csv'), transportCsv(0.55));
    const r = check('--transport', join(dir, 'ok.csv'), '--rows', join(dir, 'night.csv'));
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^### migbench nightly: ✅ every figure within its limit/);
    const night = readHistory(readFileSync(join(dir, 'night.csv'), 'utf8'), 'night.csv');
    expect(night.find((x) => x.metric === 'transport.ratio_vs_iperf3_4ch')).toMatchObject({ value: 0.55, baseline: 0.55, limit: 0.4, limit_kind: 'min', status: 'ok', run_id: '7', git_revision: 'r1' });
  });

  it('fails a transport 1.4x slower against iperf3 in the same job, and a real bench with an unverified run', () => {
    writeFileSync(join(dir, 'slow.csv'), transportCsv(0.55 / 1.4));
    const r = check('--transport', join(dir, 'slow.csv'));
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/❌ 1 figure past its limit/);
    expect(r.stdout).toMatch(/\| `transport\.ratio_vs_iperf3_4ch` \| 0\.3929 x iperf3 \| 0\.55 \| min 0\.4 \| fail \|/);
    const real = join(dir, 'real');
    mkdirSync(real, { recursive: true });
    writeFileSync(join(real, 'runs.csv'), 'run_id,downtime_ms,verified\r\na#0,20,true\r\nb#0,30,false\r\n');
    writeFileSync(join(real, 'comparison.csv'), 'run_id,total_vs_goodput_bound,total_time_ratio\r\na#0,0.8,1.1\r\nb#0,0.9,1.05\r\n');
    const bad = check('--real', real);
    expect(bad.status).toBe(1);
    expect(bad.stdout).toMatch(/\| `real\.verified_share` \| 0\.5 share \| 1 \| min 1 \| fail \|/);
  });

  it('a bench that produced nothing is missing, and fails', () => {
    const real = join(dir, 'empty');
    mkdirSync(real, { recursive: true });
    writeFileSync(join(real, 'runs.csv'), 'run_id,downtime_ms,verified\r\n');
    writeFileSync(join(real, 'comparison.csv'), 'run_id,total_vs_goodput_bound,total_time_ratio\r\n');
    const r = check('--real', real);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/\| `real\.downtime_ms_median` \| - ms \| 34\.6 \| max 300 \| missing \|/);
  });
});
