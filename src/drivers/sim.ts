// The virtual-time driver: runs the migration core against a page-level guest memory, a workload and a
// link cost model, on the discrete-event kernel. A run is a pure function of its scenario (and seed):
// every random process has its own stream, and no wall clock enters the result. Times are rounded to
// the nanosecond (seconds) and the microsecond (milliseconds) so float noise never reaches a report.

import { GuestMemory, giveBack, sameImage, takeBytes } from '../guest/memory.js';
import { WorkloadModel } from '../guest/workload.js';
import { PrecopyCore, type Action, type Event } from '../migration/precopy.js';
import { pingProbe, tcpProbe, type Outage } from '../probes/index.js';
import { Rng } from '../random/index.js';
import type { MigrationResult } from '../result.js';
import type { Scenario } from '../scenario.js';
import { Simulator } from '../sim/index.js';
import { buildLink } from '../transport/model.js';
import { PAGE_SIZE } from '../units/index.js';

export function simulate(s: Scenario): MigrationResult {
  const pages = Math.ceil(s.memoryBytes / PAGE_SIZE);
  const layoutRng = Rng.stream(s.seed, 'memory-layout');
  const workloadRng = Rng.stream(s.seed, 'workload');
  const pingRng = Rng.stream(s.seed, 'ping');

  const mem = new GuestMemory(pages, s.workload.zeroFraction, layoutRng);
  const workload = new WorkloadModel(s.workload, pages, workloadRng);
  const dest = takeBytes(pages);
  dest.fill(0); // the destination's memory starts empty (all zero)
  const link = buildLink(s.network, s.transport, { compression: s.compression });
  const core = new PrecopyCore({
    memoryPages: pages,
    policy: s.policy,
    onNoConverge: s.onNoConverge,
    configBytes: s.timing.configBytes,
    stateBytes: s.timing.stateBytes,
  });
  const sim = new Simulator();

  // Guest state: writes are applied lazily up to `guestClock`, at the rate in force (throttled or not).
  let guestClock = 0;
  let running = true;
  let throttle = 0;
  let logging = false;
  let pending = { pages: 0, zeroPages: 0 };
  let verified = false;
  const advanceGuest = (to: number): void => {
    if (running && to > guestClock) workload.advance(mem, to - guestClock, throttle, workloadRng);
    guestClock = to;
  };

  const reply = (delay: number, make: (now: number) => Event): void => {
    sim.after(delay, () => perform(core.handle(make(sim.now))));
  };

  const perform = (a: Action): void => {
    switch (a.type) {
      case 'setup': {
        const c = link.cost(0, 0, a.configBytes);
        reply(c.seconds + s.timing.setupTime, (now) => ({ type: 'setup-done', now }));
        return;
      }
      case 'sync': {
        advanceGuest(sim.now);
        if (!logging) {
          mem.startLogging();
          logging = true;
        }
        pending = mem.sync();
        const counts = pending;
        reply(0, (now) => ({ type: 'synced', now, pages: counts.pages, zeroPages: counts.zeroPages }));
        return;
      }
      case 'send':
      case 'send-final': {
        if (a.type === 'send') {
          // The throttle set for this round applies to the writes made while it is sent.
          advanceGuest(sim.now);
          throttle = a.throttle;
        }
        const sent = pending;
        const extra = a.type === 'send-final' ? a.stateBytes : 0;
        const c = link.cost(sent.pages - sent.zeroPages, sent.zeroPages, extra);
        // Pages are read at the start of the round: a write during the round makes the destination's
        // copy stale, and only the next round's resend can repair it (the strictest ordering).
        mem.sendSnapshot(dest);
        reply(c.seconds, (now) => ({ type: 'sent', now, pages: sent.pages, zeroPages: sent.zeroPages, wireBytes: c.wireBytes }));
        return;
      }
      case 'pause':
        advanceGuest(sim.now);
        running = false;
        reply(0, (now) => ({ type: 'paused', now }));
        return;
      case 'resume':
        verified = sameImage(mem.version, dest);
        // The source tells the destination to resume and hears back: one round trip, then the restore.
        reply(link.rtt + s.timing.resumeTime, (now) => ({ type: 'resumed', now }));
        return;
      case 'cleanup-source':
        reply(s.timing.cleanupTime, (now) => ({ type: 'cleaned-up', now }));
        return;
      case 'rollback':
        // Stop dirty logging and tell the destination to delete its VM shell; the guest keeps running.
        advanceGuest(sim.now);
        mem.stopLogging();
        reply(link.rtt + s.timing.cleanupTime, (now) => ({ type: 'rolled-back', now }));
        return;
      case 'done':
        advanceGuest(sim.now);
        return;
    }
  };

  perform(core.start());
  sim.run();
  const sum = core.summary();
  mem.release();
  giveBack(dest);

  const outages: Outage[] = [];
  if (sum.pausedAt !== null) {
    const end = sum.resumedAt !== null ? sum.resumedAt + s.timing.switchover : (sum.finishedAt ?? sum.pausedAt);
    outages.push({ start: sum.pausedAt, end });
  }
  const total = sum.finishedAt ?? sim.now;
  const ping = pingProbe({ interval: s.probes.pingInterval, phase: pingRng.next() * s.probes.pingInterval, duration: total, outages });
  const tcp = tcpProbe({ rtoMin: s.probes.tcpRtoMin, timeout: s.probes.tcpTimeout, outages });
  const downtime = sum.pausedAt !== null && sum.resumedAt !== null ? sum.resumedAt - sum.pausedAt : 0;

  return {
    engine: 'sim',
    mode: s.mode,
    network: s.network.name,
    transport: s.transport,
    workload: s.workload.name,
    memory_bytes: s.memoryBytes,
    policy: s.policy.name,
    seed: s.seed,
    outcome: sum.outcome,
    rollback_reason: sum.rollbackReason,
    converged: sum.converged,
    vm_running_on: sum.vmRunningOn,
    total_time_s: ns(total),
    downtime_ms: us(downtime * 1000),
    precopy_rounds: sum.precopyRounds,
    memory_pages_sent: sum.pagesSent,
    memory_bytes_sent: sum.memoryWireBytes,
    zero_pages: sum.zeroPagesSent,
    total_bytes_sent: sum.memoryWireBytes + sum.stateBytes + sum.configBytes,
    pings_sent: ping.sent,
    missed_pings: ping.missed,
    max_ping_gap_ms: us(ping.maxGapMs),
    tcp_max_stall_ms: us(tcp.maxStallMs),
    tcp_sessions_dropped: tcp.dropped,
    memory_verified: sum.outcome === 'completed' ? verified : null,
    rounds: sum.rounds.map((r) => ({ ...r, start_s: ns(r.start_s), duration_s: ns(r.duration_s) })),
  };
}

/** Round seconds to the nanosecond and milliseconds to the microsecond. */
const ns = (s: number): number => Math.round(s * 1e9) / 1e9;
const us = (ms: number): number => Math.round(ms * 1e3) / 1e3;
