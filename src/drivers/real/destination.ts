// Rolling back at the destination: have it delete the migration's VM and files, over the migration's
// session if it still lives, else over a new one, after a crashed destination came back.

import { StateError } from '../../errors.js';
import type { Event } from '../../migration/orchestrator.js';
import { SenderSession } from '../../transport/tcp/sender.js';
import type { RealMigration } from './driver.js';
import { DestinationLink } from './link.js';
import { PROTOCOL_VERSION, type Request } from './protocol.js';

/** How long a rollback waits for a setup in flight to settle before cleaning up without it. */
const SETUP_SETTLE_MS = 10_000;

/** Have the destination delete the migration's VM and files, over the session or a new one. */
export async function cleanDestination(m: RealMigration): Promise<Event> {
  // A failure (a cancel, say) can strike while the setup is still opening the session or creating the
  // VM: let it settle first (bounded), so that the abort below reaches what it created.
  if (m.setupInFlight) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([m.setupInFlight.catch(() => undefined), new Promise((r) => (timer = setTimeout(r, SETUP_SETTLE_MS)))]);
    clearTimeout(timer);
  }
  const old = m.session;
  const alive = old !== null && old.failure === undefined && old.channels.some((c) => c.alive) && !m.receiver?.exited;
  let reply: Record<string, unknown> | null = null;
  try {
    if (alive && m.link) reply = await m.link.request({ t: 'abort', id: m.id });
  } catch (e) {
    m.log(`abort over the migration session failed: ${(e as Error).message}`);
  }
  m.link?.close(new StateError('rolled back'));
  old?.close();
  if (reply === null) {
    try {
      reply = await adminRequest(m, { t: 'abort', id: m.id });
    } catch (e) {
      m.measured.notes.push(`could not confirm the destination's clean-up: ${(e as Error).message}`);
    }
  }
  m.destFilesLeft = reply ? Number(reply['filesLeft']) : null;
  return { type: 'destination-cleaned', now: m.now() };
}

/** One request over a fresh session (after the migration's session died); waits for a crashed
 *  destination to come back (a local one is restarted here; a remote one by its supervisor). */
export async function adminRequest(m: RealMigration, req: Request, timeout = m.s.timing.transferTimeout): Promise<Record<string, unknown>> {
  // A killed process's sockets reset before its exit is reported: wait for the exit, then restart it.
  if (m.receiver && m.injected === 'dest-crash') await m.receiver.waitExit(10_000);
  const deadline = performance.now() + Math.max(timeout, m.s.timing.destRestartTime) * 1000;
  for (let attempt = 0; ; attempt++) {
    let s: SenderSession | undefined;
    try {
      if (m.receiver?.exited) {
        m.log('the local destination is gone: starting it again on its directory to clean up');
        await m.receiver.restart();
      }
      s = await SenderSession.open({ ...m.sessionOptions(1, m.key, m.targets().length), connectTimeout: 10 });
      const link = new DestinationLink(s, timeout);
      await link.request({ t: 'hello', kind: 'admin', version: PROTOCOL_VERSION });
      return await link.request(req);
    } catch (e) {
      if (performance.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, Math.min(1000, 100 * (attempt + 1))));
    } finally {
      s?.close();
    }
  }
}
