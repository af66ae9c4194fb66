// The kernel's interface counters turned into an evacuation's links and timeline, on a fake
// /sys/class/net driven by a test clock (the real one is read by the namespace test).
import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetdevSampler, parseTbfRate, sliceLength } from '../../src/evacuation/netdev.js';

function fakeSys() {
  const root = mkdtempSync(join(tmpdir(), 'migbench-netdev-'));
  const set = (ifname: string, tx: number, rx = 0) => {
    mkdirSync(join(root, ifname, 'statistics'), { recursive: true });
    writeFileSync(join(root, ifname, 'statistics', 'tx_bytes'), `${tx}\n`);
    writeFileSync(join(root, ifname, 'statistics', 'rx_bytes'), `${rx}\n`);
  };
  return { root, set };
}

describe('NetdevSampler', () => {
  it('a link at half its capacity for 1 s, then full for 1 s: throughput, utilisation and the timeline', () => {
    const { root, set } = fakeSys();
    let ms = 0;
    set('mbtest0', 1000, 5);
    set('mbidle0', 7, 7);
    set('lo', 0, 0);
    const s = NetdevSampler.forHost({ root, interval: 0, now: () => ms, capacity: (i) => (i === 'mbtest0' ? 1e9 : null) })!;
    expect(s).not.toBeNull();
    s.start();
    ms = 1000;
    set('mbtest0', 1000 + 62.5e6, 5);
    set('lo', 40e6, 40e6);
    s.poll();
    ms = 2000;
    set('mbtest0', 1000 + 187.5e6, 5);
    set('mbidle0', 500, 500); // other traffic, under the threshold
    set('lo', 80e6, 80e6);
    s.stop();
    const { links, timeline } = s.summary(2, 1e6);
    expect(links.map((l) => l.link)).toEqual(['source/lo/rx', 'source/lo/tx', 'source/mbtest0/tx']);
    const eth = links.find((l) => l.link === 'source/mbtest0/tx')!;
    expect(eth.capacity_bps).toBe(1e9);
    expect(eth.mean_bytes_per_s).toBeCloseTo(93.75e6, 0);
    expect(eth.peak_bytes_per_s).toBeCloseTo(125e6, 0);
    expect(eth.mean_utilisation).toBeCloseTo(0.75, 6);
    expect(eth.peak_utilisation).toBeCloseTo(1, 6);
    const lo = links.find((l) => l.link === 'source/lo/tx')!;
    expect(lo).toMatchObject({ capacity_bps: null, mean_utilisation: null, peak_utilisation: null });
    expect(lo.mean_bytes_per_s).toBeCloseTo(40e6, 0);
    // 0.05 s slices over 2 s, a row per reported link each; the first second at half the rate.
    expect(timeline.interval_s).toBe(0.05);
    const ethRows = timeline.samples.filter((x) => x.link === 'source/mbtest0/tx');
    expect(ethRows).toHaveLength(40);
    expect(ethRows[0]!.utilisation).toBeCloseTo(0.5, 6);
    expect(ethRows[39]!.utilisation).toBeCloseTo(1, 6);
    expect(timeline.samples).toHaveLength(3 * 40);
    // Every byte is in the timeline: slice rates times their width add up to what the counter moved.
    expect(ethRows.reduce((t, x) => t + x.bytes_per_s * 0.05, 0)).toBeCloseTo(187.5e6, -1);
    rmSync(root, { recursive: true, force: true });
  });

  it('an interface that vanishes mid-drain, or whose counters are garbage, is left out without failing', () => {
    const { root, set } = fakeSys();
    let ms = 0;
    set('mbgone0', 0);
    set('mbok0', 0);
    const s = NetdevSampler.forHost({ root, interval: 0, now: () => ms, capacity: () => null })!;
    s.start();
    rmSync(join(root, 'mbgone0'), { recursive: true });
    ms = 500;
    set('mbok0', 10e6);
    writeFileSync(join(root, 'mbok0', 'statistics', 'rx_bytes'), 'lots\n');
    s.stop();
    const { links } = s.summary(0.5, 1);
    expect(links.map((l) => l.link)).toEqual(['source/mbok0/tx']);
    expect(links[0]!.mean_bytes_per_s).toBeCloseTo(20e6, 0);
    rmSync(root, { recursive: true, force: true });
  });

  it('no counters (not Linux): no sampler; never started: nothing to report', () => {
    expect(NetdevSampler.forHost({ root: join(tmpdir(), 'migbench-no-such-sys') })).toBeNull();
    const { root, set } = fakeSys();
    set('mbtest0', 5);
    const s = NetdevSampler.forHost({ root, interval: 0 })!;
    s.stop();
    expect(s.summary(1, 0)).toEqual({ links: [], timeline: { interval_s: 0, samples: [] } });
    rmSync(root, { recursive: true, force: true });
  });

  it('a long drain gets longer slices: never more than 1,024', () => {
    expect(sliceLength(2, 0.05)).toBe(0.05);
    expect(3600 / sliceLength(3600, 0.05)).toBeLessThanOrEqual(1024);
    expect(3600 / sliceLength(3600, 0.05)).toBeGreaterThan(512);
  });

  it("reads a root tbf's rate from tc's JSON (bytes/s) as bits/s, and nothing else", () => {
    expect(parseTbfRate('[{"kind":"tbf","handle":"804f:","root":true,"refcnt":3,"options":{"rate":125000000,"burst":65500,"lat":20000}}]')).toBe(1e9);
    expect(parseTbfRate('[{"kind":"noqueue","handle":"0:","root":true,"refcnt":2,"options":{}}]')).toBeNull();
    expect(parseTbfRate('[{"kind":"tbf","handle":"1:","parent":"10:1","options":{"rate":125000000}}]')).toBeNull();
    expect(parseTbfRate('not json')).toBeNull();
    expect(parseTbfRate('{"kind":"tbf"}')).toBeNull();
  });
});
