// The namespace links' shaping arguments, and (as root) that a pair is made and entirely removed.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createNetnsPair, describeNetns, netnsUnavailable, tbfArgs } from '../../src/bench/netns.js';

describe('tbfArgs', () => {
  it('shapes to the rate in bits with a bucket of 4 ms (at least one 64 KiB GSO segment) and a 20 ms queue', () => {
    expect(tbfArgs(125e6)).toEqual(['tbf', 'rate', '1000000000bit', 'burst', '500000', 'latency', '20ms']);
    expect(tbfArgs(12.5e6)).toEqual(['tbf', 'rate', '100000000bit', 'burst', '65536', 'latency', '20ms']);
  });
});

const why = netnsUnavailable();
describe.skipIf(why !== undefined)('createNetnsPair (root)', () => {
  it('makes two namespaces joined by shaped veth links, and remove() deletes everything (twice is harmless)', () => {
    const p = createNetnsPair({ tag: `u${process.pid % 10000}`, links: 2, rate: 125e6, subnet: 234 });
    try {
      const list = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
      expect(list).toContain(p.src);
      expect(list).toContain(p.dst);
      const qdisc = execFileSync('ip', ['netns', 'exec', p.src, 'tc', 'qdisc', 'show', 'dev', p.links[1]!.srcIf], { encoding: 'utf8' });
      expect(qdisc).toMatch(/tbf .*rate 1Gbit/);
      for (const l of p.links) {
        expect(execFileSync('ip', ['-n', p.src, 'addr', 'show', 'dev', l.srcIf], { encoding: 'utf8' })).toMatch(new RegExp(`state UP[^]*inet ${l.srcAddr.replaceAll('.', '\\.')}/24`));
        expect(execFileSync('ip', ['-n', p.dst, 'addr', 'show', 'dev', l.dstIf], { encoding: 'utf8' })).toMatch(new RegExp(`state UP[^]*inet ${l.dstAddr.replaceAll('.', '\\.')}/24`));
      }
      expect(describeNetns(p)).toContain('each shaped by tc tbf to 1 Gbit/s');
    } finally {
      p.remove();
      p.remove();
    }
    const after = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    expect(after).not.toContain(p.src);
    expect(after).not.toContain(p.dst);
  });
});
