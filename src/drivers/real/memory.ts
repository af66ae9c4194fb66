// The memory migration's actions for the driver: the bitmap sync (the first starts dirty logging), a
// pre-copy round, and the blackout's final round with the device state.

import { createHash } from 'node:crypto';
import { popcount32 } from '../../guest/memory.js';
import type { Event } from '../../migration/orchestrator.js';
import { PAGE_SIZE } from '../../units/index.js';
import type { RealMigration } from './driver.js';
import { sendPages } from './pages.js';
import { STAGING_BYTES } from './protocol.js';
import { HEADER_SIZE } from '../../transport/tcp/frame.js';

export function syncMemory(m: RealMigration): Event {
  let pages: number;
  if (!m.logging) {
    // Start dirty logging: clear the log; everything is pending (round 0 sends all non-zero pages).
    m.guest.ram.syncDirty(new Uint32Array(m.pending.length));
    m.pending.fill(0xffffffff);
    const r = m.guest.ram.pages & 31;
    if (r !== 0) m.pending[m.pending.length - 1] = (1 << r) - 1;
    pages = m.guest.ram.pages;
    m.logging = true;
  } else pages = m.guest.ram.syncDirty(m.pending);
  return { type: 'synced', now: m.now(), pages, zeroPages: 0 };
}

/** The guest's pending pages over the migration session (what a round and the blackout send). */
const guestPages = (m: RealMigration) => ({ ram: m.guest.ram, pending: m.pending, session: m.session!, pool: m.pool, staging: m.staging, chunkSize: m.chunkSize });

export async function sendRound(m: RealMigration, round: number, throttle: number): Promise<Event> {
  m.guest.throttle(throttle);
  const started = m.now();
  const total = m.guest.ram.pages;
  const c = await sendPages({
    ...guestPages(m),
    skipZero: round === 0,
    progress: (scanned) => {
      m.check();
      if (round === 0) m.faults.progress('precopy', scanned / total);
    },
  });
  await m.flush();
  const now = m.now();
  if (round === 0 && now > started) m.measured.round0_goodput_bps = ((c.pages - c.zeroPages) * PAGE_SIZE) / (now - started);
  return { type: 'sent', now, pages: c.pages, zeroPages: c.zeroPages, wireBytes: c.wireBytes };
}

export async function sendFinal(m: RealMigration, stateBytes: number): Promise<Event> {
  let dirty = 0;
  for (const w of m.pending) if (w !== 0) dirty += popcount32(w);
  const total = dirty * PAGE_SIZE + stateBytes;
  const c = await sendPages({
    ...guestPages(m),
    skipZero: false,
    progress: (_scanned, sent) => {
      m.check();
      if (total > 0) m.faults.progress('blackout', (sent * PAGE_SIZE) / total);
    },
  });
  // The device state: seeded bytes standing for CPU and device state, after the staging ring. The
  // stand-in's bytes and hash are made before the migration (deviceState), not inside the blackout.
  const state = deviceState(m, stateBytes);
  const base = m.ramBytes + (m.diskSpec?.bytes ?? 0) + STAGING_BYTES;
  const chunk = m.chunkSize;
  let handed = dirty * PAGE_SIZE;
  let stateWire = 0;
  for (let at = 0; at < stateBytes; at += chunk) {
    const n = Math.min(chunk, stateBytes - at);
    await m.session!.write(base + at, state.subarray(at, at + n));
    handed += n;
    stateWire += n + HEADER_SIZE;
    m.faults.progress('blackout', handed / total);
  }
  m.stateSent = stateWire;
  m.faults.progress('blackout', 1);
  await m.flush();
  return { type: 'sent', now: m.now(), pages: c.pages, zeroPages: c.zeroPages, wireBytes: c.wireBytes + stateBytes };
}

/**
 * The device state the blackout sends, made (with its hash, for the check at the end) before the timed
 * migration starts: generating and hashing a stand-in is harness work, not the migration's.
 */
export function deviceState(m: RealMigration, stateBytes: number): Buffer {
  if (m.state === null || m.state.length !== stateBytes) {
    m.state = stateBlob(stateBytes, m.s.seed);
    m.stateSha = sha256hex(m.state);
  }
  return m.state;
}

/** Seeded bytes standing for the CPU and device state sent in the blackout. */
function stateBlob(bytes: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(bytes);
  let x = (seed ^ 0x9e3779b9) >>> 0 || 1;
  for (let i = 0; i + 4 <= bytes; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b.writeUInt32LE(x >>> 0, i);
  }
  for (let i = bytes & ~3; i < bytes; i++) b[i] = i & 0xff;
  return b;
}

const sha256hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
