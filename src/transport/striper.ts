// The striper: cuts an open-ended, offset-addressed stream into chunks and schedules them over channels
// the way SMB 3 Multichannel spreads requests (docs/facts.md: the Linux cifs client picks the channel with
// the fewest requests in flight; we weigh bytes in flight by each channel's rate). Sans-I/O: no sockets,
// no clocks, no timers; every call is synchronous and costs O(number of channels) per chunk, so the
// simulator can drive it in virtual time and the TCP sender in wall-clock time.
//
// Ordering: chunks enqueued between two barriers may be written in any order. A barrier holds back
// everything enqueued after it until every chunk enqueued before it is acknowledged (and, with
// `fencing`, until every failed channel has been fenced), so data written after a barrier is never
// overtaken by older data at the same offset (QEMU multifd syncs all channels at the end of a round).

import { MigbenchError, StateError } from '../errors.js';

export type StripePolicy = 'least-loaded' | 'round-robin';

export interface StriperChannel {
  id: number;
  /** Bytes per second the channel is expected to carry (weighs its load). */
  rate: number;
}

export interface StriperOptions {
  /** Largest chunk in bytes. */
  chunkSize: number;
  policy?: StripePolicy;
  /** Bytes a channel may have in flight (unacknowledged); unlimited when absent. A channel with nothing in
   * flight always takes one chunk, so a window smaller than a chunk still makes progress. */
  window?: number;
  /** When true a failed channel must be fenced (`fenceConfirmed`) before a barrier can pass. */
  fencing?: boolean;
}

export interface Assignment {
  channel: number;
  offset: number;
  length: number;
  /** Unique per assignment within the striper (a re-sent chunk gets a new one). */
  seq: number;
  /** The tag given to `enqueue` for the region this chunk was cut from. */
  tag: unknown;
  /** True when this chunk re-sends bytes of a failed channel. */
  resend: boolean;
}

/** Every channel failed: the stream cannot be delivered. */
export class AllChannelsLostError extends MigbenchError {
  readonly failed: number[];
  readonly unacknowledgedBytes: number;
  constructor(failed: number[], unacknowledgedBytes: number) {
    super('E_TRANSPORT', `all ${failed.length} channels lost (${unacknowledgedBytes} bytes unacknowledged)`);
    this.failed = failed;
    this.unacknowledgedBytes = unacknowledgedBytes;
  }
}

interface InternalAssignment extends Assignment {
  epoch: number;
}

interface Region {
  offset: number;
  length: number;
  tag: unknown;
  resend: boolean;
  /** Barrier epoch this region belongs to. */
  epoch: number;
}

interface ChannelState {
  id: number;
  index: number;
  rate: number;
  alive: boolean;
  paused: boolean;
  fenced: boolean;
  inFlightBytes: number;
  inFlightChunks: number;
  bytesAcked: number;
  chunksAcked: number;
}

export interface StriperChannelStats {
  id: number;
  alive: boolean;
  inFlightBytes: number;
  inFlightChunks: number;
  bytesAcked: number;
  chunksAcked: number;
}

export interface StriperStats {
  bytesEnqueued: number;
  bytesQueued: number;
  bytesInFlight: number;
  bytesAcked: number;
  bytesResent: number;
  chunksAssigned: number;
  channels: StriperChannelStats[];
}

export class Striper {
  readonly chunkSize: number;
  readonly policy: StripePolicy;
  readonly window: number;
  readonly fencing: boolean;
  private readonly channels: ChannelState[];
  private readonly byId = new Map<number, ChannelState>();
  /** Pending regions in order; a simple array deque with a head index. */
  private queue: Region[] = [];
  private head = 0;
  /** Chunks of failed channels, oldest first; sent before anything in `queue`. */
  private resendQueue: Region[] = [];
  private resendHead = 0;
  private nextSeq = 0;
  /** Unacknowledged assignments by sequence number: slots[seq - slotBase] (undefined once acked).
   * An array rather than a Map: sequence numbers are dense and mostly acknowledged in order. */
  private slots: (InternalAssignment | undefined)[] = [];
  private slotBase = 0;
  private slotHead = 0;
  private rr = 0;
  /** Current epoch: regions enqueued now belong to it; barrier() starts a new one. */
  private epoch = 0;
  /** Epoch whose regions may be assigned (all earlier epochs are fully acknowledged). */
  private openEpoch = 0;
  /** Unacknowledged bytes (queued or in flight) per epoch. */
  private readonly pendingByEpoch = new Map<number, number>();
  private unfenced = 0;
  private end_ = 0;
  private bytesEnqueued = 0;
  private bytesQueued = 0;
  private bytesInFlight = 0;
  private bytesAcked = 0;
  private bytesResent = 0;
  private chunksAssigned = 0;

  constructor(channels: StriperChannel[], options: StriperOptions) {
    if (!Number.isInteger(options.chunkSize) || options.chunkSize < 1) {
      throw new StateError(`striper: chunkSize must be a positive integer, got ${options.chunkSize}`);
    }
    if (options.window !== undefined && !(options.window > 0)) throw new StateError(`striper: window must be positive, got ${options.window}`);
    if (channels.length === 0) throw new StateError('striper: at least one channel is needed');
    this.chunkSize = options.chunkSize;
    this.policy = options.policy ?? 'least-loaded';
    this.window = options.window ?? Infinity;
    this.fencing = options.fencing ?? false;
    this.channels = channels.map((c, index) => {
      if (!(c.rate > 0)) throw new StateError(`striper: channel ${c.id} needs a positive rate, got ${c.rate}`);
      if (this.byId.has(c.id)) throw new StateError(`striper: duplicate channel id ${c.id}`);
      const s: ChannelState = {
        id: c.id,
        index,
        rate: c.rate,
        alive: true,
        paused: false,
        fenced: true,
        inFlightBytes: 0,
        inFlightChunks: 0,
        bytesAcked: 0,
        chunksAcked: 0,
      };
      this.byId.set(c.id, s);
      return s;
    });
  }

  /** One past the highest byte ever enqueued: where `append` puts the next bytes. */
  get end(): number {
    return this.end_;
  }

  /** Queue the region [offset, offset+length) for sending (it may re-send bytes sent before). */
  enqueue(offset: number, length: number, tag?: unknown): void {
    if (!Number.isSafeInteger(offset) || offset < 0) throw new StateError(`striper: bad offset ${offset}`);
    if (!Number.isSafeInteger(length) || length < 0) throw new StateError(`striper: bad length ${length}`);
    this.liveCheck();
    if (length === 0) return;
    this.queue.push({ offset, length, tag, resend: false, epoch: this.epoch });
    this.pendingByEpoch.set(this.epoch, (this.pendingByEpoch.get(this.epoch) ?? 0) + length);
    this.bytesEnqueued += length;
    this.bytesQueued += length;
    if (offset + length > this.end_) this.end_ = offset + length;
  }

  /** Queue `length` bytes at the end of the stream; returns their offset. */
  append(length: number, tag?: unknown): number {
    const offset = this.end_;
    this.enqueue(offset, length, tag);
    return offset;
  }

  /**
   * Start a new epoch: regions enqueued from now on are not assigned until everything enqueued before is
   * acknowledged. Returns the barrier's token for `barrierPassed`.
   */
  barrier(): number {
    this.epoch++;
    this.advanceEpochs();
    return this.epoch;
  }

  /** True once every chunk enqueued before the barrier `token` is acknowledged (and fences confirmed). */
  barrierPassed(token: number): boolean {
    return this.openEpoch >= token;
  }

  /** Everything enqueued so far has been acknowledged. */
  get idle(): boolean {
    return this.bytesQueued === 0 && this.bytesInFlight === 0;
  }

  /** A paused channel (its socket is backpressured, its token bucket empty) gets no new chunks. */
  setPaused(id: number, paused: boolean): void {
    this.channel(id).paused = paused;
  }

  /** The next chunk to send and its channel, or undefined when nothing can be sent now. */
  nextAssignment(): Assignment | undefined {
    const fromResend = this.resendHead < this.resendQueue.length;
    let region: Region;
    if (fromResend) region = this.resendQueue[this.resendHead]!;
    else {
      if (this.head >= this.queue.length) return undefined;
      region = this.queue[this.head]!;
      if (region.epoch > this.openEpoch) return undefined;
    }
    const length = Math.min(this.chunkSize, region.length);
    const ch = this.pick(length);
    if (!ch) return undefined;
    const a: InternalAssignment = { channel: ch.id, offset: region.offset, length, seq: this.nextSeq++, tag: region.tag, resend: region.resend, epoch: region.epoch };
    region.offset += length;
    region.length -= length;
    if (region.length === 0) {
      if (fromResend) {
        this.resendHead++;
        if (this.resendHead === this.resendQueue.length) {
          this.resendQueue = [];
          this.resendHead = 0;
        }
      } else this.shift();
    }
    this.slots.push(a);
    ch.inFlightChunks++;
    ch.inFlightBytes += length;
    this.bytesQueued -= length;
    this.bytesInFlight += length;
    this.chunksAssigned++;
    if (a.resend) this.bytesResent += length;
    // The returned object is the striper's own record (no copy on the hot path): do not modify it.
    return a;
  }

  /** Alias of nextAssignment. */
  assign(): Assignment | undefined {
    return this.nextAssignment();
  }

  /** The chunk `seq` on `channel` was written by the receiver. Returns its length (0 if unknown/duplicate). */
  ack(channel: number, seq: number): number {
    const ch = this.channel(channel);
    const i = seq - this.slotBase;
    const a = i >= this.slotHead && i < this.slots.length ? this.slots[i] : undefined;
    if (!a || a.channel !== channel) return 0;
    this.slots[i] = undefined;
    this.compactSlots();
    ch.inFlightChunks--;
    ch.inFlightBytes -= a.length;
    ch.bytesAcked += a.length;
    ch.chunksAcked++;
    this.bytesInFlight -= a.length;
    this.bytesAcked += a.length;
    const left = (this.pendingByEpoch.get(a.epoch) ?? 0) - a.length;
    if (left === 0) {
      this.pendingByEpoch.delete(a.epoch);
      this.advanceEpochs();
    } else this.pendingByEpoch.set(a.epoch, left);
    return a.length;
  }

  /**
   * Channel `id` failed: its unacknowledged chunks go back to the front of the queue (oldest first) for the
   * surviving channels. Throws AllChannelsLostError when no channel survives. Returns the bytes requeued.
   */
  failChannel(id: number): number {
    const ch = this.channel(id);
    if (!ch.alive) return 0;
    ch.alive = false;
    const chunks: InternalAssignment[] = [];
    for (let i = this.slotHead; i < this.slots.length; i++) {
      const a = this.slots[i];
      if (a && a.channel === id) {
        chunks.push(a);
        this.slots[i] = undefined;
      }
    }
    this.compactSlots();
    ch.inFlightChunks = 0;
    let bytes = 0;
    // Requeued chunks belong to epochs <= openEpoch, so they go before anything still held back.
    for (const c of chunks) {
      bytes += c.length;
      this.resendQueue.push({ offset: c.offset, length: c.length, tag: c.tag, resend: true, epoch: c.epoch });
    }
    ch.inFlightBytes = 0;
    this.bytesInFlight -= bytes;
    this.bytesQueued += bytes;
    if (this.fencing) {
      ch.fenced = false;
      this.unfenced++;
    }
    if (!this.channels.some((c) => c.alive)) {
      throw new AllChannelsLostError(this.channels.map((c) => c.id), this.bytesQueued + this.bytesInFlight);
    }
    return bytes;
  }

  /** The receiver confirmed that failed channel `id` will deliver nothing more (see `fencing`). */
  fenceConfirmed(id: number): void {
    const ch = this.channel(id);
    if (ch.alive) throw new StateError(`striper: channel ${id} is alive; only a failed channel is fenced`);
    if (!ch.fenced) {
      ch.fenced = true;
      this.unfenced--;
      this.advanceEpochs();
    }
  }

  /** Ids of the failed channels that still await a fence confirmation. */
  unfencedChannels(): number[] {
    return this.channels.filter((c) => !c.alive && !c.fenced).map((c) => c.id);
  }

  isAlive(id: number): boolean {
    return this.channel(id).alive;
  }

  aliveChannels(): number[] {
    return this.channels.filter((c) => c.alive).map((c) => c.id);
  }

  inFlightBytes(id: number): number {
    return this.channel(id).inFlightBytes;
  }

  /** Unacknowledged chunks of one channel (oldest first), e.g. to time them out. */
  inFlightOf(id: number): Assignment[] {
    this.channel(id);
    const out: Assignment[] = [];
    for (let i = this.slotHead; i < this.slots.length; i++) {
      const a = this.slots[i];
      if (a && a.channel === id) out.push({ channel: a.channel, offset: a.offset, length: a.length, seq: a.seq, tag: a.tag, resend: a.resend });
    }
    return out;
  }

  stats(): StriperStats {
    return {
      bytesEnqueued: this.bytesEnqueued,
      bytesQueued: this.bytesQueued,
      bytesInFlight: this.bytesInFlight,
      bytesAcked: this.bytesAcked,
      bytesResent: this.bytesResent,
      chunksAssigned: this.chunksAssigned,
      channels: this.channels.map((c) => ({
        id: c.id,
        alive: c.alive,
        inFlightBytes: c.inFlightBytes,
        inFlightChunks: c.inFlightChunks,
        bytesAcked: c.bytesAcked,
        chunksAcked: c.chunksAcked,
      })),
    };
  }

  // -------------------------------------------------------------------------------------------------

  private pick(length: number): ChannelState | undefined {
    const n = this.channels.length;
    let best: ChannelState | undefined;
    let bestLoad = Infinity;
    for (let k = 0, i = this.rr; k < n; k++, i = i + 1 === n ? 0 : i + 1) {
      const c = this.channels[i]!;
      if (!c.alive || c.paused) continue;
      if (c.inFlightBytes > 0 && c.inFlightBytes + length > this.window) continue;
      if (this.policy === 'round-robin') {
        best = c;
        break;
      }
      // Ties go to the first channel after the last one used (round-robin among equals).
      const load = c.inFlightBytes / c.rate;
      if (load < bestLoad) {
        best = c;
        bestLoad = load;
      }
    }
    if (best) this.rr = best.index + 1 === n ? 0 : best.index + 1;
    return best;
  }

  private compactSlots(): void {
    while (this.slotHead < this.slots.length && this.slots[this.slotHead] === undefined) this.slotHead++;
    if (this.slotHead === this.slots.length) {
      this.slotBase += this.slotHead;
      this.slots = [];
      this.slotHead = 0;
    } else if (this.slotHead > 4096 && this.slotHead * 2 > this.slots.length) {
      this.slotBase += this.slotHead;
      this.slots = this.slots.slice(this.slotHead);
      this.slotHead = 0;
    }
  }

  private shift(): void {
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  private advanceEpochs(): void {
    if (this.unfenced > 0) return;
    while (this.openEpoch < this.epoch && !this.pendingByEpoch.has(this.openEpoch)) this.openEpoch++;
  }

  private liveCheck(): void {
    if (!this.channels.some((c) => c.alive)) throw new AllChannelsLostError(this.channels.map((c) => c.id), this.bytesQueued + this.bytesInFlight);
  }

  private channel(id: number): ChannelState {
    const c = this.byId.get(id);
    if (!c) throw new StateError(`striper: unknown channel ${id}`);
    return c;
  }
}
