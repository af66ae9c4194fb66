import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expectedDiskSha256, fileSha256 } from '../../../src/guest/real/disk.js';
import { resolveScenario } from '../../../src/scenario.js';
import { realRun, tempDir } from './helpers.js';

const MiB = 2 ** 20;

describe('real shared-nothing migration (loopback)', () => {
  it('copies a disk image under heavy guest IO with mirroring, moves memory, verifies both, then removes the source image', async () => {
    const input = { mode: 'shared-nothing', memory: '64MiB', disk: '96MiB', workload: 'oltp', writeIops: '3000', ioSize: '4KiB', storageSegment: '4MiB' };
    const sourceDir = tempDir();
    const r = await realRun(input, { channels: 2, sourceDir });
    const res = r.result;
    expect(res).toMatchObject({ outcome: 'completed', verified: true, memory_verified: true, invariants_ok: true, writes_lost: 0, source_files_removed: 1, storage_bytes_copied: 96 * MiB, disk_bytes: 96 * MiB });
    expect(res.mirrored_writes).toBeGreaterThan(0);
    expect(res.storage_copy_time_s).toBeGreaterThan(0);
    // A write held for the segment in flight is mirrored once the segment lands: none is lost or left held.
    expect(r.measured.held_writes).toBeLessThanOrEqual(res.mirrored_writes);
    // Independently of the driver: the destination's image is the initial image with every counted guest
    // write applied (a replay), and the source image is gone.
    const s = resolveScenario(input);
    const spec = { bytes: 96 * MiB, allocated: 1, seed: s.seed, io: s.workload.io };
    const destImage = r.destFiles().find((f) => f.endsWith('-disk0.img'))!;
    expect(fileSha256(join(r.destDir, destImage)).sha256).toBe(expectedDiskSha256(spec, r.measured.disk_writes));
    expect(r.measured.disk_writes).toBeGreaterThan(res.mirrored_writes);
    expect(existsSync(join(sourceDir, destImage))).toBe(false);
    expect(existsSync(join(sourceDir, `${destImage}.migrated`))).toBe(false);
    expect(r.destFiles().some((f) => f.endsWith('.migrating'))).toBe(false);
  });
});
