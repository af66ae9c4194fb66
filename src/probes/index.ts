// Probes over the outage timeline: what a user pinging the VM, or holding a TCP session with it, sees.
// An outage is an interval in which the VM answers nothing: from the pause on the source to the moment
// the network delivers to it again (resume on the destination plus the network switchover, or resume on
// the source after a rollback). Both probes are computed in closed form, so a long migration costs no
// more than a short one.

export interface Outage {
  start: number;
  end: number;
}

export interface PingResult {
  sent: number;
  missed: number;
  /** Longest time between two answered echoes, ms (the interval when none is missed). */
  maxGapMs: number;
}

const EPS = 1e-9;

/**
 * A client pings every `interval` seconds from `phase` (0 <= phase < interval) until `duration`.
 * An echo sent inside an outage is lost (the ping's round trip is negligible next to the interval).
 */
export function pingProbe(o: { interval: number; phase: number; duration: number; outages: Outage[] }): PingResult {
  const { interval, phase, duration } = o;
  if (!(interval > 0)) throw new RangeError('ping interval must be positive');
  // EPS is a time (s): an echo due within EPS of the end still counts.
  const sent = duration + EPS >= phase ? Math.floor((duration - phase + EPS) / interval) + 1 : 0;
  // Index ranges [first, last] of lost echoes, merged where outages share or touch echoes.
  const ranges: [number, number][] = [];
  for (const out of o.outages) {
    if (out.end <= out.start) continue;
    const first = Math.max(0, Math.ceil((out.start - phase) / interval - EPS));
    const last = Math.min(sent - 1, Math.ceil((out.end - phase) / interval - EPS) - 1);
    if (last >= first) ranges.push([first, last]);
  }
  ranges.sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const r of ranges) {
    const m = merged.at(-1);
    if (m && r[0] <= m[1] + 1) m[1] = Math.max(m[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  let missed = 0;
  let longestRun = 0;
  for (const [a, b] of merged) {
    missed += b - a + 1;
    longestRun = Math.max(longestRun, b - a + 1);
  }
  // Echoes before the migration and after it are answered, so a run of k losses is a gap of k+1 intervals.
  const maxGapMs = sent === 0 ? 0 : (longestRun + 1) * interval * 1000;
  return { sent, missed, maxGapMs };
}

export interface TcpResult {
  /** Longest stall of the session, ms. */
  maxStallMs: number;
  /** Sessions (of one) dropped because a stall exceeded the application's timeout. */
  dropped: number;
}

/** Linux caps the retransmission timeout at 120 s (TCP_RTO_MAX). */
export const TCP_RTO_MAX = 120;

/**
 * A TCP session with data in flight when an outage starts loses that segment and retransmits after
 * the RTO (at least `rtoMin`), doubling it each time (RFC 6298). The session moves again at the first
 * retransmission after the outage ends; a stall longer than `timeout` drops the session.
 */
export function tcpProbe(o: { rtoMin: number; timeout: number; outages: Outage[] }): TcpResult {
  // Work in milliseconds so that 200 ms x 3 prints as 600, not 600.0000000000001.
  const rtoMinMs = o.rtoMin * 1000;
  const maxMs = TCP_RTO_MAX * 1000;
  let maxStall = 0;
  let dropped = 0;
  for (const out of o.outages) {
    const len = (out.end - out.start) * 1000;
    if (len <= 0) continue;
    // Retransmissions at rtoMin x (2^k - 1) after the loss while the doubled RTO stays below its cap.
    let k = 1;
    let t = rtoMinMs;
    while (t < len - EPS && k < 64) {
      const rto = rtoMinMs * 2 ** k;
      t = rto < maxMs ? rtoMinMs * (2 ** (k + 1) - 1) : t + maxMs;
      k++;
    }
    maxStall = Math.max(maxStall, t);
    if (t > o.timeout * 1000) dropped = 1;
  }
  return { maxStallMs: maxStall, dropped };
}
