import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { StateError } from '../../src/errors.js';
import { DiskImage } from '../../src/guest/disk.js';
import { shorthandSpec } from '../../src/guest/files.js';
import { StorageMirror } from '../../src/migration/storage.js';
import { Rng } from '../../src/random/index.js';

describe('StorageMirror routing', () => {
  it('mirrors writes to copied regions, holds writes to the segment in flight, sends the rest to the source', () => {
    const m = new StorageMirror(100, 10);
    expect(m.route(5)).toBe('source'); // before the copy starts
    m.start();
    expect(m.nextSegment()).toEqual({ start: 0, end: 10 });
    expect(m.nextSegment()).toBeNull(); // one segment in flight at a time
    expect(m.route(3)).toBe('hold');
    expect(m.route(10)).toBe('source');
    expect(m.segmentDone()).toBe(false);
    expect(m.route(3)).toBe('mirror');
    expect(m.nextSegment()).toEqual({ start: 10, end: 20 });
    expect(m.route(15)).toBe('hold');
    expect(m.route(99)).toBe('source');
  });

  it('cuts segments at file boundaries and finishes in mirroring state', () => {
    const m = new StorageMirror(25, 10, [7, 20]);
    m.start();
    const segs: [number, number][] = [];
    for (let s = m.nextSegment(); s; s = m.nextSegment()) {
      segs.push([s.start, s.end]);
      m.segmentDone();
    }
    expect(segs).toEqual([
      [0, 7],
      [7, 17],
      [17, 20],
      [20, 25],
    ]);
    expect(m.status).toBe('mirroring');
    expect(m.route(0)).toBe('mirror');
    m.switchToDestination();
    expect(m.route(0)).toBe('destination');
    expect(() => m.stop()).toThrow(StateError);
  });

  it('refuses to switch before the copy completes, and routes everything to the source after a rollback', () => {
    const m = new StorageMirror(10, 4);
    m.start();
    m.nextSegment();
    expect(() => m.switchToDestination()).toThrow(/before the copy completes/);
    m.stop();
    expect(m.route(0)).toBe('source');
    expect(m.route(9)).toBe('source');
  });

  it('loses no write whatever the schedule of writes and segment completions (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: 1, max: 9 }),
        fc.array(fc.oneof(fc.nat(), fc.constant(-1)), { maxLength: 400 }),
        (diskMiB, segment, ops) => {
          const spec = shorthandSpec({ disk: diskMiB * 2 ** 20, allocated: 1, configBytes: 4096 });
          const disk = new DiskImage(spec, { writeIops: 1, readIops: 0, ioSize: 4096, hotFraction: 0, hotShare: 0 }, Rng.stream(1, 'd'));
          const m = new StorageMirror(disk.regions, segment, disk.boundaries);
          m.start();
          let seg = m.nextSegment();
          if (seg) disk.copy(seg.start, seg.end);
          const held: number[] = [];
          const step = (): void => {
            m.segmentDone();
            for (const r of held.splice(0)) disk.writeBoth(r);
            seg = m.nextSegment();
            if (seg) disk.copy(seg.start, seg.end);
          };
          for (const op of ops) {
            if (op === -1) {
              if (seg) step();
              continue;
            }
            const r = op % disk.regions;
            const route = m.route(r);
            if (route === 'mirror') disk.writeBoth(r);
            else if (route === 'hold') held.push(r);
            else disk.writeSource(r);
          }
          for (let guard = 0; seg; guard++) {
            expect(guard).toBeLessThan(disk.regions + 1); // every step copies at least one region
            step();
          }
          expect(m.status).toBe('mirroring');
          expect(disk.missingOnDestination()).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('DiskImage', () => {
  it('lays files out in 1 MiB regions, dynamic disks by allocated blocks, and counts bytes exactly', () => {
    const spec = {
      source: 'test',
      files: [
        { name: 'c', kind: 'config' as const, size: 100_000, type: 'fixed' as const, allocated: 1, blockSize: 2 ** 25 },
        { name: 'd', kind: 'vhdx' as const, size: 2 ** 30, type: 'dynamic' as const, allocated: 0.5, blockSize: 2 ** 25 },
      ],
    };
    const disk = new DiskImage(spec, { writeIops: 1, readIops: 0, ioSize: 4096, hotFraction: 0, hotShare: 0 }, Rng.stream(1, 'd'));
    expect(disk.files.map((f) => [f.start, f.regions, f.bytes])).toEqual([
      [0, 1, 100_000],
      [1, 512, 2 ** 29],
    ]);
    expect(disk.bytesIn(0, disk.regions)).toBe(100_000 + 2 ** 29);
    expect(disk.bytesIn(0, 1)).toBe(100_000);
    expect(disk.bytesIn(1, 3)).toBe(2 * 2 ** 20);
    expect(disk.writableRegions).toBe(512);
  });

  it('samples IO regions with the locality it reports (shareBelow matches sampling)', () => {
    const spec = shorthandSpec({ disk: 2 ** 30, allocated: 1, configBytes: 4096 });
    const disk = new DiskImage(spec, { writeIops: 1, readIops: 0, ioSize: 4096, hotFraction: 0.1, hotShare: 0.9 }, Rng.stream(2, 'd'));
    const rng = Rng.stream(3, 'io');
    const n = 50_000;
    const samples = Array.from({ length: n }, () => disk.sampleRegion(rng));
    expect(samples.every((r) => r >= 1 && r < disk.regions)).toBe(true); // never the configuration file
    for (const cut of [100, 300, 600, 900]) {
      const empirical = samples.filter((r) => r < cut).length / n;
      expect(Math.abs(empirical - disk.shareBelow(cut))).toBeLessThan(0.01);
    }
  });
});
