// Simulated channels: the SMB multichannel transport in virtual time, scheduled by the same Striper the
// TCP sender uses. Each channel is a FIFO pipe with a payload rate (line rate x efficiency, shared on its
// NIC, capped per TCP stream) and a round trip; a chunk occupies its channel for length/rate and is
// acknowledged a round trip after its last byte left. The striper assigns chunks as acknowledgements
// free each channel's window, exactly as the sender does.
//
// A channel that dies at time d stops carrying and acknowledging from d; the sender notices at n >= d and
// the striper moves its unacknowledged chunks to the survivors (re-sent bytes are counted). Losing every
// channel throws AllChannelsLostError.
//
// `simulateStripedTransfer` is a pure function of its inputs: the simulator calls it again with an added
// failure when a channel dies mid-transfer (the run is deterministic, so the prefix is the same).

import { StateError } from '../errors.js';
import { Striper, type StripePolicy } from './striper.js';
import { CHANNEL_WINDOW, CHUNK_SIZE } from './defaults.js';

export interface SimChannel {
  id: number;
  /** Payload bytes per second. */
  rate: number;
  /** Round trip, seconds. */
  rtt: number;
}

export interface ChannelFailure {
  channel: number;
  /** Seconds since the transfer started: the channel stops carrying at `dies`, the sender notices at `noticed`. */
  dies: number;
  noticed: number;
}

export interface StripedTransfer {
  /** Seconds from the start to the last acknowledgement. */
  seconds: number;
  /** Bytes sent again after a failure. */
  bytesResent: number;
  /** Chunks assigned (including re-sends). */
  chunks: number;
  /** Bytes each channel carried to acknowledgement, by channel id. */
  perChannel: Map<number, number>;
}

export interface StripeOptions {
  chunkSize: number;
  /** Bytes a channel may have unacknowledged. */
  window: number;
  policy?: StripePolicy;
}

/** The transport's defaults (src/transport/tcp/sender.ts): 1 MiB chunks, an 8 MiB window per channel. */
export const SIM_STRIPE_DEFAULTS: StripeOptions = { chunkSize: CHUNK_SIZE, window: CHANNEL_WINDOW, policy: 'least-loaded' };

/** Most chunks the simulator schedules for one transfer. */
export const SIM_MAX_CHUNKS = 2048;

/**
 * Striping options for simulating a transfer of `bytes` over `channels`: the sender's 1 MiB chunks and
 * 8 MiB window up to 2 GiB; above that, chunks of bytes / 2048 rounded up to a power of two, which bounds
 * the cost of a simulation, with a window wide enough (a chunk plus the largest rate x round trip) that
 * no channel ever waits for an acknowledgement, as none does with the sender's own settings then. When
 * the sender's own window limits a channel (rate x round trip above 7 MiB), the sender's settings stay,
 * whatever the cost. Chunking then only shapes a transfer's tail: its end moves by at most one chunk's
 * time on one channel, i.e. 2 x channels / 2048 of the transfer's time (a chunk is up to twice
 * bytes / 2048).
 */
export function simStripeOptions(bytes: number, channels: readonly SimChannel[]): StripeOptions {
  const d = SIM_STRIPE_DEFAULTS;
  if (bytes <= d.chunkSize * SIM_MAX_CHUNKS) return d;
  const bdp = Math.max(0, ...channels.map((c) => c.rate * c.rtt));
  if (bdp > d.window - d.chunkSize) return d; // window-bound: keep the sender's own behaviour
  const chunkSize = 2 ** Math.ceil(Math.log2(bytes / SIM_MAX_CHUNKS));
  return { ...d, chunkSize, window: Math.max(d.window, chunkSize * Math.ceil((chunkSize + bdp) / chunkSize), 2 * chunkSize) };
}

/** A transfer of `bytes` striped as the simulator stripes it (`simStripeOptions`), with `failures`. */
export function simulateSimTransfer(bytes: number, channels: readonly SimChannel[], failures: readonly ChannelFailure[] = [], rerate?: (dead: ReadonlySet<number>) => Map<number, number>): StripedTransfer {
  return simulateStripedTransfer(bytes, channels, simStripeOptions(bytes, channels), failures, rerate);
}

/**
 * @param rerate rates of the channels once the channels in `dead` stopped (survivors sharing a NIC take up
 *   a dead channel's share); applies to chunks that start after a death. Without it rates never change.
 */
export function simulateStripedTransfer(
  bytes: number,
  channels: readonly SimChannel[],
  options: StripeOptions = SIM_STRIPE_DEFAULTS,
  failures: readonly ChannelFailure[] = [],
  rerate?: (dead: ReadonlySet<number>) => Map<number, number>,
): StripedTransfer {
  const n = channels.length;
  if (n === 0) throw new StateError('a striped transfer needs at least one channel');
  const perChannel = new Map<number, number>(channels.map((c) => [c.id, 0]));
  if (bytes <= 0) return { seconds: 0, bytesResent: 0, chunks: 0, perChannel };
  const index = new Map(channels.map((c, i) => [c.id, i]));
  // Channel id -> index as a flat array when ids are small integers (they are: 0..n-1 from selection).
  const maxId = Math.max(...channels.map((c) => c.id));
  const byId = Number.isInteger(maxId) && maxId >= 0 && maxId < 4096 && channels.every((c) => Number.isInteger(c.id) && c.id >= 0) ? new Int32Array(maxId + 1).fill(-1) : null;
  if (byId) channels.forEach((c, i) => (byId[c.id] = i));
  const striper = new Striper(
    channels.map((c) => ({ id: c.id, rate: c.rate })),
    { chunkSize: options.chunkSize, window: options.window, policy: options.policy ?? 'least-loaded' },
  );
  striper.append(bytes);
  // Per channel: rate, round trip, when its pipe is free, when it dies, whether the sender gave it up,
  // and a FIFO of (ack time, seq) for its unacknowledged chunks (a FIFO pipe acknowledges in order).
  const rate = Float64Array.from(channels, (c) => c.rate);
  const rtt = Float64Array.from(channels, (c) => c.rtt);
  const busy = new Float64Array(n);
  const dies = new Float64Array(n).fill(Infinity);
  const noticeAt = new Float64Array(n).fill(Infinity);
  const given = new Uint8Array(n);
  const carried = new Float64Array(n);
  const cap = Math.max(4, Math.ceil(options.window / options.chunkSize) + 2);
  const ackTime = channels.map(() => new Float64Array(cap));
  const ackSeq = channels.map(() => new Float64Array(cap));
  const head = new Int32Array(n);
  const count = new Int32Array(n);
  /** Time of each channel's oldest unacknowledged chunk's ack (Infinity when none), for the event scan. */
  const nextAck = new Float64Array(n).fill(Infinity);
  const hasFailures = failures.length > 0;
  for (const f of failures) {
    const i = index.get(f.channel);
    if (i === undefined) throw new StateError(`no channel ${f.channel} to fail`);
    dies[i] = Math.min(dies[i]!, f.dies);
    noticeAt[i] = Math.min(noticeAt[i]!, Math.max(f.noticed, f.dies));
  }
  // Deaths in time order change the survivors' rates (each applies once).
  const deaths = [...new Set(failures.map((f) => index.get(f.channel)!))].sort((a, b) => dies[a]! - dies[b]! || a - b);
  let nextDeath = 0;
  const dead = new Set<number>();
  let now = 0;
  let last = 0;
  let chunks = 0;

  const push = (i: number, t: number, seq: number): void => {
    let q = ackTime[i]!;
    if (count[i]! === q.length) {
      // grow the ring (a dead channel keeps accepting chunks until the sender notices)
      const size = q.length * 2;
      const t2 = new Float64Array(size);
      const s2 = new Float64Array(size);
      for (let k = 0; k < count[i]!; k++) {
        t2[k] = q[(head[i]! + k) % q.length]!;
        s2[k] = ackSeq[i]![(head[i]! + k) % q.length]!;
      }
      ackTime[i] = t2;
      ackSeq[i] = s2;
      head[i] = 0;
      q = t2;
    }
    const at = (head[i]! + count[i]!) % q.length;
    q[at] = t;
    ackSeq[i]![at] = seq;
    if (count[i]!++ === 0) nextAck[i] = t;
  };

  const fill = (): void => {
    for (let a = striper.nextAssignment(); a; a = striper.nextAssignment()) {
      chunks++;
      const i = byId ? byId[a.channel]! : index.get(a.channel)!;
      const start = now > busy[i]! ? now : busy[i]!;
      const end = start + a.length / rate[i]!;
      busy[i] = end;
      // A dead channel never acknowledges: its chunk waits for the sender to notice.
      push(i, end <= dies[i]! ? end + rtt[i]! : Infinity, a.seq);
    }
  };

  fill();
  for (let guard = 0; ; guard++) {
    if (guard > 50_000_000) throw new StateError('striped transfer did not finish');
    // The next event: a death, a channel's oldest acknowledgement, or a sender noticing a dead channel.
    let t = Infinity;
    let kind = 0; // 1 death, 2 ack, 3 notice
    let who = -1;
    if (nextDeath < deaths.length) {
      t = dies[deaths[nextDeath]!]!;
      kind = 1;
      who = deaths[nextDeath]!;
    }
    for (let i = 0; i < n; i++) {
      const at = nextAck[i]!;
      if (at < t || (at === t && kind !== 1 && at !== Infinity)) {
        t = at;
        kind = 2;
        who = i;
      }
    }
    if (hasFailures) {
      for (let i = 0; i < n; i++) {
        if (!given[i] && noticeAt[i]! < t) {
          t = noticeAt[i]!;
          kind = 3;
          who = i;
        }
      }
    }
    if (kind === 0 || t === Infinity) break;
    now = t;
    if (kind === 1) {
      nextDeath++;
      dead.add(channels[who]!.id);
      if (rerate) for (const [id, r] of rerate(dead)) if (!dead.has(id) && r > 0) rate[index.get(id)!] = r;
      continue;
    }
    if (kind === 2) {
      const seq = ackSeq[who]![head[who]!]!;
      head[who] = (head[who]! + 1) % ackTime[who]!.length;
      nextAck[who] = --count[who]! > 0 ? ackTime[who]![head[who]!]! : Infinity;
      carried[who]! += striper.ack(channels[who]!.id, seq);
      last = now;
    } else {
      given[who] = 1;
      noticeAt[who] = Infinity;
      if (striper.idle) continue; // everything was acknowledged before the sender noticed
      striper.failChannel(channels[who]!.id); // throws AllChannelsLostError when it was the last one
      busy[who] = Infinity;
      count[who] = 0;
      nextAck[who] = Infinity;
    }
    fill();
  }
  if (!striper.idle) throw new StateError('striped transfer ended with data unacknowledged');
  channels.forEach((c, i) => perChannel.set(c.id, carried[i]!));
  return { seconds: last, bytesResent: striper.stats().bytesResent, chunks, perChannel };
}
