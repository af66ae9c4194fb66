// Before the timed migration: the link probe (control round trips and the goodput of a plain transfer over
// the same channels, into a ring at the destination) and a warm-up of the page path at both ends (JIT).

import { MigbenchError } from '../../errors.js';
import { GuestRam } from '../../guest/real/ram.js';
import { SenderSession } from '../../transport/tcp/sender.js';
import type { RealMigration } from './driver.js';
import { DestinationLink } from './link.js';
import { sendPages, Staging } from './pages.js';
import { PROTOCOL_VERSION, STAGING_BYTES } from './protocol.js';
import { PAGE_SIZE } from '../../units/index.js';

const WARMUP_BYTES = 16 * 2 ** 20;
const PAGE_PROBE_PASSES = 3;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** The link probe: control round trips and the goodput of a plain transfer over the same channels. */
export async function probeLink(m: RealMigration): Promise<void> {
  const bytes = m.o.probeBytes ?? 0;
  let s: SenderSession | undefined;
  try {
    s = await SenderSession.open(m.sessionOptions(Math.max(bytes, WARMUP_BYTES) + STAGING_BYTES));
    const link = new DestinationLink(s, 30);
    await link.request({ t: 'hello', kind: 'probe', version: PROTOCOL_VERSION });
    const rtts: number[] = [];
    for (let i = 0; i < 7; i++) {
      const t = performance.now();
      await link.request({ t: 'status', id: '0' });
      rtts.push((performance.now() - t) / 1000);
    }
    m.measured.control_rtt_s = rtts.sort((a, b) => a - b)[3]!;
    if (bytes > 0) {
      const buf = Buffer.alloc(2 ** 20, 0x5a);
      const t = performance.now();
      for (let off = 0; off < bytes; off += buf.length) await s.write(off, buf.subarray(0, Math.min(buf.length, bytes - off)));
      await s.flush();
      m.measured.link_goodput_bps = bytes / ((performance.now() - t) / 1000);
    }
    // Warm up (JIT) the code the timed migration runs, at both ends: whole runs of pages with zero pages
    // skipped, then scattered single pages, as in the later rounds.
    const scratch = GuestRam.create(WARMUP_BYTES, 0.5, 1);
    const pending = new Uint32Array(scratch.bitmap.length);
    for (const [fill, skipZero] of [[0xffffffff, true], [0x49249249, false]] as const) {
      pending.fill(fill);
      const staging = new Staging(Math.max(bytes, WARMUP_BYTES));
      await sendPages({ ram: scratch, pending, session: s, pool: m.pool, staging, chunkSize: m.o.chunkSize ?? 2 ** 20, skipZero });
      await s.flush();
    }
    // The page path, timed (after the warm-up): non-zero pages of a scratch memory as large as the probe,
    // sent by the rounds' own code while the guest runs. On a fast link the CPU (page walk, copies, CRC,
    // packing, the destination's writes), not the wire, can set the pace: this is the rate the rounds see.
    const pageBytes = Math.floor(bytes / 2 ** 20) * 2 ** 20;
    if (pageBytes > 0) {
      const ram = GuestRam.create(pageBytes, 0, 2);
      const staging = new Staging(Math.max(bytes, WARMUP_BYTES));
      // Three passes, the median: one pass can catch a burst of other load on a shared machine.
      const rates: number[] = [];
      for (let pass = 0; pass < PAGE_PROBE_PASSES; pass++) {
        const all = new Uint32Array(ram.bitmap.length).fill(0xffffffff);
        const t = performance.now();
        const c = await sendPages({ ram, pending: all, session: s, pool: m.pool, staging, chunkSize: m.o.chunkSize ?? 2 ** 20, skipZero: false });
        await s.flush();
        staging.barrierPassed();
        rates.push((c.pages * PAGE_SIZE) / ((performance.now() - t) / 1000));
      }
      const rate = (m.measured.page_path_goodput_bps = median(rates));
      // Scattered pages, timed: every third page (runs of one page, packed into page packets and unpacked
      // at the destination, as the later rounds' and the blackout's dirty pages are). What they take
      // beyond their bytes at the page path's rate is the cost of a run.
      const costs: number[] = [];
      for (let pass = 0; pass < PAGE_PROBE_PASSES; pass++) {
        const every3rd = new Uint32Array(ram.bitmap.length).fill(0x49249249);
        const t = performance.now();
        const c = await sendPages({ ram, pending: every3rd, session: s, pool: m.pool, staging, chunkSize: m.o.chunkSize ?? 2 ** 20, skipZero: false });
        await s.flush();
        staging.barrierPassed();
        const seconds = (performance.now() - t) / 1000;
        costs.push(Math.max(0, (seconds - (c.pages * PAGE_SIZE) / rate) / c.pages));
      }
      m.measured.run_cost_s = median(costs);
      // Zero-page detection, timed: the same walk over zero memory (round 0 reads each zero page whole
      // and sends nothing for it).
      const zero = GuestRam.create(pageBytes, 1, 3);
      const pending = new Uint32Array(zero.bitmap.length).fill(0xffffffff);
      const t0 = performance.now();
      const z = await sendPages({ ram: zero, pending, session: s, pool: m.pool, staging, chunkSize: m.o.chunkSize ?? 2 ** 20, skipZero: true });
      m.measured.zero_scan_bps = (z.zeroPages * PAGE_SIZE) / ((performance.now() - t0) / 1000);
    }
  } catch (e) {
    throw new MigbenchError('E_TRANSPORT', `cannot reach the destination (${m.measured.targets.join(', ')}): ${(e as Error).message}`, { cause: e });
  } finally {
    s?.close();
  }
}
