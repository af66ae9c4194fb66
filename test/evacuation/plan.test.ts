import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { InputError } from '../../src/errors.js';
import { orderVms, place, type DestinationHost } from '../../src/evacuation/plan.js';
import type { VmEntry } from '../../src/evacuation/inventory.js';

const GiB = 2 ** 30;
const vm = (name: string, gib: number, extra: Partial<VmEntry> = {}): VmEntry => ({
  name,
  memoryBytes: gib * GiB,
  workload: null,
  diskBytes: null,
  mode: null,
  running: true,
  host: null,
  origin: `test ${name}`,
  ...extra,
});
const names = (vms: { name: string }[]) => vms.map((v) => v.name);

describe('orderVms', () => {
  const vms = [vm('a', 4), vm('b', 16), vm('c', 4), vm('d', 8), vm('e', 16)];
  it('keeps the inventory order, or sorts by memory keeping ties in inventory order', () => {
    expect(names(orderVms(vms, 'inventory'))).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(names(orderVms(vms, 'largest-first'))).toEqual(['b', 'e', 'd', 'a', 'c']);
    expect(names(orderVms(vms, 'smallest-first'))).toEqual(['a', 'c', 'd', 'b', 'e']);
    expect(names(vms)).toEqual(['a', 'b', 'c', 'd', 'e']); // the input is not reordered
    expect(() => orderVms(vms, 'random' as never)).toThrow(/--order: expected one of inventory, largest-first, smallest-first, got "random"/);
  });
});

describe('place (worst fit)', () => {
  it('puts each VM on the host with the most free memory that holds it; ties go to the host listed first', () => {
    const hosts = [
      { name: 'h1', freeBytes: 32 * GiB },
      { name: 'h2', freeBytes: 32 * GiB },
      { name: 'h3', freeBytes: 20 * GiB },
    ];
    const p = place([vm('a', 16), vm('b', 16), vm('c', 8), vm('d', 8), vm('e', 8)], hosts);
    // a: tie h1/h2 -> h1 (16 left); b: h2 (32) -> 16 left; c: h3 (20) -> 12; d: tie h1/h2 (16) -> h1; e: h2
    expect(p.placed.map((x) => [x.vm.name, x.host])).toEqual([
      ['a', 'h1'],
      ['b', 'h2'],
      ['c', 'h3'],
      ['d', 'h1'],
      ['e', 'h2'],
    ]);
    expect([...p.free]).toEqual([
      ['h1', 8 * GiB],
      ['h2', 8 * GiB],
      ['h3', 12 * GiB],
    ]);
    expect(p.unplaced).toEqual([]);
  });

  it('reports a VM that fits nowhere with its memory and the largest free space, and goes on with the others', () => {
    const p = place([vm('big', 48), vm('small', 4), vm('huge', 64)], [
      { name: 'h1', freeBytes: 40 * GiB },
      { name: 'h2', freeBytes: 24 * GiB },
    ]);
    expect(p.placed.map((x) => [x.vm.name, x.host])).toEqual([['small', 'h1']]);
    expect(p.unplaced.map((u) => u.reason)).toEqual([
      'big needs 48 GiB of memory; the most free memory on any destination is 40 GiB (h1)',
      'huge needs 64 GiB of memory; the most free memory on any destination is 36 GiB (h1)',
    ]);
    expect(place([vm('a', 1)], []).unplaced[0]!.reason).toBe('a needs 1 GiB of memory; there is no destination host');
  });

  it('counts the per-VM overhead; a VM that fits exactly is placed', () => {
    const hosts = [{ name: 'h1', freeBytes: 8 * GiB + 64 * 2 ** 20 }];
    const overhead = () => 64 * 2 ** 20;
    expect(place([vm('a', 8)], hosts, overhead).placed).toHaveLength(1);
    expect(place([vm('a', 8)], hosts, overhead).free.get('h1')).toBe(0);
    const tight = place([vm('a', 8)], [{ name: 'h1', freeBytes: 8 * GiB }], overhead);
    expect(tight.unplaced[0]!.reason).toBe('a needs 8.06 GiB (8 GiB of memory + 64 MiB of overhead); the most free memory on any destination is 8 GiB (h1)');
    // Off VMs reserve memory too (they are moved to start there)
    expect(place([vm('off', 8, { running: false })], [{ name: 'h1', freeBytes: 4 * GiB }]).unplaced).toHaveLength(1);
  });

  it('refuses hosts with duplicate names or bad free memory, and a negative overhead', () => {
    expect(() => place([], [{ name: 'h', freeBytes: 1 }, { name: 'h', freeBytes: 1 }])).toThrow(InputError);
    expect(() => place([], [{ name: 'h', freeBytes: -1 }])).toThrow(/destination hosts: \[0\]\.freeBytes: expected free memory of 0 bytes or more, got -1/);
    expect(() => place([], [{ name: 'h', freeBytes: NaN }])).toThrow(/freeBytes/);
    expect(() => place([vm('a', 1)], [{ name: 'h', freeBytes: GiB }], () => -1)).toThrow(/overhead of a/);
  });
});

describe('place: properties', () => {
  const vmArb = fc.record({ gib: fc.integer({ min: 1, max: 64 }), overhead: fc.integer({ min: 0, max: 512 }) });
  const input = fc.record({
    vms: fc.array(vmArb, { maxLength: 40 }),
    hosts: fc.array(fc.integer({ min: 0, max: 256 }), { maxLength: 6 }),
  });

  it('never overfills a host, places or reports every VM exactly once, and leaves a VM out only when no host had room at its turn', () => {
    fc.assert(
      fc.property(input, ({ vms: specs, hosts: sizes }) => {
        const vms = specs.map((s, i) => vm(`v${i}`, s.gib));
        const overheadOf = new Map(vms.map((v, i) => [v, specs[i]!.overhead * 2 ** 20]));
        const hosts: DestinationHost[] = sizes.map((g, i) => ({ name: `h${i}`, freeBytes: g * GiB }));
        const p = place(vms, hosts, (v) => overheadOf.get(v)!);
        // exactly once
        const seen = [...p.placed.map((x) => x.vm), ...p.unplaced.map((x) => x.vm)];
        expect(seen).toHaveLength(vms.length);
        expect(new Set(seen).size).toBe(vms.length);
        // never overfilled: what was placed on a host fits its free memory, and `free` is what is left
        for (const h of hosts) {
          const used = p.placed.filter((x) => x.host === h.name).reduce((n, x) => n + x.vm.memoryBytes + overheadOf.get(x.vm)!, 0);
          expect(used).toBeLessThanOrEqual(h.freeBytes);
          expect(p.free.get(h.name)).toBe(h.freeBytes - used);
        }
        // replay in order: a placed VM went to a host with the most free memory among those with room;
        // an unplaced one had no host with room at its turn
        const free = new Map(hosts.map((h) => [h.name, h.freeBytes]));
        const where = new Map(p.placed.map((x) => [x.vm, x.host]));
        for (const v of vms) {
          const need = v.memoryBytes + overheadOf.get(v)!;
          const roomy = hosts.filter((h) => free.get(h.name)! >= need);
          const host = where.get(v);
          if (host === undefined) {
            expect(roomy).toEqual([]);
          } else {
            expect(free.get(host)).toBe(Math.max(...roomy.map((h) => free.get(h.name)!)));
            expect(roomy.find((h) => free.get(h.name) === free.get(host))!.name).toBe(host); // ties: first listed
            free.set(host, free.get(host)! - need);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
