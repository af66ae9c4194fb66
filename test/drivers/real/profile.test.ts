import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../../../src/errors.js';
import { loadProfile, matchProfile, parseProfile, profileJson, type RunTarget } from '../../../src/drivers/real/profile.js';
import { fakeProfile } from '../../support/profile.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** The InputError a bad profile raises (the test fails if it loads). */
function errorOf(edit: (json: Record<string, unknown>) => void): InputError {
  const json = JSON.parse(profileJson(fakeProfile())) as Record<string, unknown>;
  edit(json);
  try {
    parseProfile(JSON.stringify(json), 'host.json');
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return e as InputError;
  }
  throw new Error('the bad profile loaded');
}

const links = (j: Record<string, unknown>) => j['links'] as Record<string, unknown>[];

describe('calibration profile', () => {
  it('round-trips through its JSON unchanged, and loads from a file', () => {
    const p = fakeProfile({ links: [{}, { channels: 2, rate_bps: 125e6, page_path_goodput_bps: null, run_cost_s: null, dest_page_cost_s: null }] });
    const json = profileJson(p);
    expect(parseProfile(json, 'x.json')).toEqual(p);
    const d = mkdtempSync(join(tmpdir(), 'migbench-profile-'));
    dirs.push(d);
    writeFileSync(join(d, 'host.json'), json);
    expect(loadProfile(join(d, 'host.json'))).toEqual(p);
  });

  it('a missing field: the error names the file, the field path and its form', () => {
    const e = errorOf((j) => delete links(j)[0]!['setup_time_s']);
    expect(e.source).toBe('host.json');
    expect(e.path).toBe('links[0].setup_time_s');
    expect(e.message).toBe('host.json: links[0].setup_time_s: expected setup time: seconds (a number >= 0) (missing)');
  });

  it('a wrong type or value names the field', () => {
    const t = errorOf((j) => (links(j)[0]!['link_goodput_bps'] = '10Gbit/s'));
    expect(t.path).toBe('links[0].link_goodput_bps');
    expect(t.message).toContain('a rate in bytes/s');
    expect(t.got).toBe('10Gbit/s');
    const n = errorOf((j) => ((links(j)[0]!['migrations'] as Record<string, unknown>[])[0]!['cleanup_s'] = -1));
    expect(n.path).toBe('links[0].migrations[0].cleanup_s');
    const h = errorOf((j) => ((j['source_host'] as Record<string, unknown>)['cores'] = 1.5));
    expect(h.path).toBe('source_host.cores');
    const to = errorOf((j) => ((j['target'] as Record<string, unknown>)['to'] = '10.0.0.2:7100'));
    expect(to.path).toBe('target.to');
  });

  it('another version of the format is refused, naming the version field and how to get one', () => {
    const e = errorOf((j) => (j['version'] = 2));
    expect(e.path).toBe('version');
    expect(e.message).toMatch(/expected version 1 .*run migbench calibrate again/);
    expect(e.got).toBe(2);
  });

  it('an unlimited link needs its page path; a link calibrated twice is refused', () => {
    expect(errorOf((j) => (links(j)[0]!['page_path_goodput_bps'] = null)).path).toBe('links[0].page_path_goodput_bps');
    expect(errorOf((j) => links(j).push(links(j)[0]!)).path).toBe('links[1]');
  });

  it('not JSON, or an unreadable file, says so with the file', () => {
    expect(() => parseProfile('{"kind":', 'host.json')).toThrow(/^host\.json: expected a calibration profile in JSON/);
    expect(() => loadProfile('/nonexistent/host.json')).toThrow(/^--profile: expected a readable calibration profile .*got "\/nonexistent\/host\.json"/);
  });
});

describe('matching a profile to a run', () => {
  const run = (over: Partial<RunTarget> = {}): RunTarget => ({ to: null, bind: null, destReserve: true, chunkBytes: 2 ** 20, windowBytes: 8 * 2 ** 20, channels: 4, rate: null, ...over });
  const p = fakeProfile({ links: [{}, { channels: 4, rate_bps: 125e6, page_path_goodput_bps: null }] });

  it('finds the link the run uses, without warnings when everything matches', () => {
    expect(matchProfile(p, run(), 'host.json', p.source_host.hostname)).toMatchObject({ link: { channels: 4, rate_bps: null }, warnings: [] });
    expect(matchProfile(p, run({ rate: 125e6 }), 'host.json', p.source_host.hostname).link.rate_bps).toBe(125e6);
  });

  it('refuses another destination or a link it did not calibrate', () => {
    expect(() => matchProfile(p, run({ to: ['10.0.0.2:7100'] }), 'host.json', 'h')).toThrow(/^host\.json: target\.to: expected a profile of this run's destination \(10\.0\.0\.2:7100\).*got "a local receiver on loopback"/);
    expect(() => matchProfile(p, run({ channels: 2 }), 'host.json', 'h')).toThrow(/^host\.json: links: expected a calibration of 2 channel\(s\) unlimited .*calibrate with --channels 2/);
    expect(() => matchProfile(p, run({ rate: 250e6 }), 'host.json', 'h')).toThrow(/calibration of 4 channel\(s\) limited to 2 Gbit\/s/);
  });

  it('warns about lesser differences: reserve, chunk, window, bind, another host', () => {
    const { warnings } = matchProfile(p, run({ destReserve: false, chunkBytes: 2 ** 21, windowBytes: 2 ** 20, bind: ['127.0.0.1'] }), 'host.json', 'elsewhere');
    expect(warnings).toHaveLength(5);
    expect(warnings.join('\n')).toMatch(/reserved its memory, this run's does not/);
    expect(warnings.join('\n')).toMatch(/--chunk 1048576 bytes, this run uses 2097152/);
    expect(warnings.join('\n')).toMatch(/made on host .*, this is elsewhere/);
  });
});
