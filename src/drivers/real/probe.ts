// Before the timed migration: the probes (control round trips, the goodput of a plain transfer over the
// same channels into a ring at the destination, the page path, scattered pages, zero-page reads) and a
// warm-up of the page path at both ends (JIT).

import { median } from 'simple-statistics';
import { InterruptedError, MigbenchError } from '../../errors.js';
import { GuestRam } from '../../guest/real/ram.js';
import { SenderSession } from '../../transport/tcp/sender.js';
import type { RealContext } from './context.js';
import type { DestinationControl } from './destination.js';
import { DestinationLink } from './link.js';
import { sendPages, Staging, type BufferPool } from './pages.js';
import { PROTOCOL_VERSION, STAGING_BYTES } from './protocol.js';
import { formatBytes, PAGE_SIZE } from '../../units/index.js';

const WARMUP_BYTES = 16 * 2 ** 20;
const PAGE_PROBE_PASSES = 3;
/** The zero-page read probe scans at most this much zero memory. */
const ZERO_PROBE_BYTES = 128 * 2 ** 20;

/**
 * The probes, before the timed migration (the guest already runs): control round trips; the plain link
 * goodput; unless the link is rate-limited (then the wire, not the page path, sets the pace, and the link
 * probe says what the simulator needs), the page path's goodput and the cost of scattered pages; and the
 * zero-page read rate. Stops between steps when the migration is cancelled (InterruptedError).
 */
export async function probeLink(m: RealContext, dest: DestinationControl, pool: BufferPool): Promise<void> {
  const bytes = m.o.probeBytes ?? 0;
  const cancelled = () => {
    if (m.o.signal?.aborted) throw new InterruptedError('migration cancelled before it started (nothing was moved)');
  };
  // The probe stream: the scratch data below, then the page packets' staging ring (as the destination's
  // probe sink lays it out: the last STAGING_BYTES of the stream).
  const stagingBase = Math.max(bytes, WARMUP_BYTES);
  let s: SenderSession | undefined;
  if (bytes > 0) m.log(`probing the link to ${m.measured.targets.join(', ')} with ${formatBytes(bytes)}${m.o.rate === undefined ? ', then the page path' : ''}`);
  try {
    s = await SenderSession.open(dest.sessionOptions(stagingBase + STAGING_BYTES));
    const link = new DestinationLink(s, 30);
    await link.request({ t: 'hello', kind: 'probe', version: PROTOCOL_VERSION });
    const rtts: number[] = [];
    for (let i = 0; i < 7; i++) {
      const t = performance.now();
      await link.request({ t: 'status', id: '0' });
      rtts.push((performance.now() - t) / 1000);
    }
    m.measured.control_rtt_s = median(rtts);
    if (bytes > 0) {
      const buf = Buffer.alloc(2 ** 20, 0x5a);
      const t = performance.now();
      for (let off = 0; off < bytes; off += buf.length) {
        cancelled();
        await s.write(off, buf.subarray(0, Math.min(buf.length, bytes - off)));
      }
      await s.flush();
      m.measured.link_goodput_bps = bytes / ((performance.now() - t) / 1000);
    }
    cancelled();
    // Warm up (JIT) the code the timed migration runs, at both ends: whole runs of pages with zero pages
    // skipped, then scattered single pages, as in the later rounds.
    const scratch = GuestRam.create(WARMUP_BYTES, 0.5, 1);
    const pending = new Uint32Array(scratch.bitmap.length);
    for (const [fill, skipZero] of [[0xffffffff, true], [0x49249249, false]] as const) {
      cancelled();
      pending.fill(fill);
      const staging = new Staging(stagingBase);
      await sendPages({ ram: scratch, pending, session: s, pool, staging, chunkSize: m.chunkSize, skipZero });
      await s.flush();
    }
    const pageBytes = Math.floor(bytes / 2 ** 20) * 2 ** 20;
    if (pageBytes > 0 && m.o.rate === undefined) await probePages(m, s, pool, pageBytes, stagingBase, cancelled);
    if (pageBytes > 0) {
      // Zero-page detection, timed: the rounds' walk over zero memory (round 0 reads each zero page
      // whole and sends nothing for it). Local work only: a smaller scratch memory does.
      cancelled();
      const zero = GuestRam.create(Math.min(pageBytes, ZERO_PROBE_BYTES), 1, 3);
      const all = new Uint32Array(zero.bitmap.length).fill(0xffffffff);
      const t0 = performance.now();
      const z = await sendPages({ ram: zero, pending: all, session: s, pool, staging: new Staging(stagingBase), chunkSize: m.chunkSize, skipZero: true });
      m.measured.zero_scan_bps = (z.zeroPages * PAGE_SIZE) / ((performance.now() - t0) / 1000);
    }
  } catch (e) {
    if (e instanceof InterruptedError) throw e;
    throw new MigbenchError('E_TRANSPORT', `cannot reach the destination (${m.measured.targets.join(', ')}): ${(e as Error).message}`, { cause: e });
  } finally {
    s?.close();
  }
}

/**
 * The page path, timed (after the warm-up): the non-zero pages of a scratch memory of `bytes` sent by the
 * rounds' own code (page walk, copies, CRC-32C, the transport) as whole runs, three passes, the median:
 * on a fast link the CPU, not the wire, sets this pace. Then every third page of it (runs of one page,
 * packed into page packets as the later rounds' and the blackout's scattered dirty pages are): what they
 * take beyond their bytes at that rate is the cost of a run, including the destination applying the page
 * packets (into its probe ring, as it applies them to guest memory in a migration).
 */
async function probePages(m: RealContext, s: SenderSession, pool: BufferPool, bytes: number, stagingBase: number, cancelled: () => void): Promise<void> {
  const ram = GuestRam.create(bytes, 0, 2);
  const staging = new Staging(stagingBase);
  const pass = async (fill: number) => {
    cancelled();
    const pending = new Uint32Array(ram.bitmap.length).fill(fill);
    const t = performance.now();
    const c = await sendPages({ ram, pending, session: s, pool, staging, chunkSize: m.chunkSize, skipZero: false });
    await s.flush();
    staging.barrierPassed();
    return { pages: c.pages, seconds: (performance.now() - t) / 1000 };
  };
  const rates: number[] = [];
  for (let i = 0; i < PAGE_PROBE_PASSES; i++) {
    const p = await pass(0xffffffff);
    rates.push((p.pages * PAGE_SIZE) / p.seconds);
  }
  const rate = (m.measured.page_path_goodput_bps = median(rates));
  const costs: number[] = [];
  for (let i = 0; i < PAGE_PROBE_PASSES; i++) {
    const p = await pass(0x49249249);
    costs.push(Math.max(0, (p.seconds - (p.pages * PAGE_SIZE) / rate) / p.pages));
  }
  m.measured.run_cost_s = median(costs);
}
