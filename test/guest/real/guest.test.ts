import { describe, expect, it } from 'vitest';
import { RealGuest } from '../../../src/guest/real/guest.js';
import { GuestRam } from '../../../src/guest/real/ram.js';
import { resolveWorkload } from '../../../src/guest/workload.js';

const MiB = 2 ** 20;

/** Poll `ok` every 10 ms for at most 10 s. */
async function until(ok: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(ok()).toBe(true);
}

describe('real guest RAM', () => {
  it('fills the requested share of zero pages and gives every other page distinct content', () => {
    const ram = GuestRam.create(64 * MiB, 0.5, 1);
    let zero = 0;
    for (let p = 0; p < ram.pages; p++) if (ram.isZeroPage(p)) zero++;
    expect(zero).toBe(ram.pages / 2);
    const again = GuestRam.create(64 * MiB, 0.5, 1);
    expect(again.sha256()).toBe(ram.sha256());
    expect(GuestRam.create(64 * MiB, 0.5, 2).sha256()).not.toBe(ram.sha256());
  });

  it('syncs and clears the dirty log atomically, and can mark everything dirty for round 0', () => {
    const ram = GuestRam.create(4 * MiB, 0, 1);
    const snap = new Uint32Array(ram.bitmap.length);
    ram.markDirty(3);
    ram.markDirty(700);
    expect(ram.syncDirty(snap)).toBe(2);
    expect(ram.syncDirty(new Uint32Array(ram.bitmap.length))).toBe(0);
    ram.markAllDirty();
    expect(ram.syncDirty(new Uint32Array(ram.bitmap.length))).toBe(ram.pages);
  });
});

describe('real guest worker', () => {
  it('writes, marks every write dirty, and stops writing when paused', async () => {
    const workload = resolveWorkload('custom', { dirtyRate: 20_000, workingSet: { fraction: 0.5 } });
    const guest = await RealGuest.start({ bytes: 16 * MiB, workload, seed: 3 });
    try {
      const before = guest.ram.sha256();
      await until(() => guest.writes > 100); // bounded: no assumption about how fast the worker runs
      await guest.pause();
      const writes = guest.writes;
      expect(writes).toBeGreaterThan(0);
      const dirty = guest.ram.syncDirty(new Uint32Array(guest.ram.bitmap.length));
      expect(dirty).toBeGreaterThan(0);
      expect(dirty).toBeLessThanOrEqual(Math.min(writes, guest.ram.pages / 2));
      const atPause = guest.ram.sha256();
      expect(atPause).not.toBe(before);
      await new Promise((r) => setTimeout(r, 100));
      expect(guest.ram.sha256()).toBe(atPause); // paused: nothing changes
      expect(guest.writes).toBe(writes);
      guest.resume();
      await until(() => guest.writes > writes);
      expect(guest.writes).toBeGreaterThan(writes);
    } finally {
      await guest.stop();
    }
  });
});

describe('real guest replay check', () => {
  it('its RAM equals the initial image with exactly its counted writes applied; any other change is caught', async () => {
    const workload = resolveWorkload('oltp', { dirtyRate: 50_000 });
    const guest = await RealGuest.start({ bytes: 8 * MiB, workload, seed: 5 });
    try {
      await new Promise((r) => setTimeout(r, 150));
      await guest.pause();
      const a = guest.checkIntact();
      expect(a.writes).toBeGreaterThan(100);
      expect(a.ok).toBe(true);
      guest.resume();
      await new Promise((r) => setTimeout(r, 100));
      await guest.pause();
      const b = guest.checkIntact();
      expect(b.writes).toBeGreaterThan(a.writes);
      expect(b.ok).toBe(true);
      // One byte the guest did not write: the check fails.
      const page = guest.ram.page(17);
      page[100] = page[100]! ^ 0x5a;
      expect(guest.checkIntact().ok).toBe(false);
      page[100] = page[100]! ^ 0x5a;
      expect(() => {
        guest.resume();
        guest.checkIntact();
      }).toThrow(/paused or stopped/);
    } finally {
      await guest.stop();
    }
  });
});
