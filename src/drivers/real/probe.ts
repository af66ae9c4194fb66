// Before the timed migration: the link probe (control round trips and the goodput of a plain transfer over
// the same channels, into a ring at the destination) and a warm-up of the page path at both ends (JIT).

import { MigbenchError } from '../../errors.js';
import { GuestRam } from '../../guest/real/ram.js';
import { SenderSession } from '../../transport/tcp/sender.js';
import type { RealMigration } from './driver.js';
import { DestinationLink } from './link.js';
import { sendPages, Staging } from './pages.js';
import { PROTOCOL_VERSION, STAGING_BYTES } from './protocol.js';

const WARMUP_BYTES = 16 * 2 ** 20;

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
  } catch (e) {
    throw new MigbenchError('E_TRANSPORT', `cannot reach the destination (${m.measured.targets.join(', ')}): ${(e as Error).message}`, { cause: e });
  } finally {
    s?.close();
  }
}
