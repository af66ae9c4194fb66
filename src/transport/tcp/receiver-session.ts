// One receiving session: the sink, which bytes arrived, the bound channels, control messages in both
// directions and the final commit. Channels (receiver.ts) feed it; it never touches sockets itself.

import { EventEmitter } from 'node:events';
import { MigbenchError } from '../../errors.js';
import { Coverage, type Sink } from './sinks.js';
import type { CommitResult, Commit } from './messages.js';

/** What a session's channel offers the session (implemented by the receiver's connections). */
export interface SessionChannel {
  readonly channel: number;
  readonly alive: boolean;
  /** Send a signed control frame; false when the channel cannot send. */
  sendControl(seq: number, body: Buffer): boolean;
  /** Tell the sender the whole session failed (ERROR flagged ERROR_SESSION_FAILED), then close. */
  failSession(reason: string): void;
  /** Resolves when every write this channel started has reached the sink. */
  drainWrites(): Promise<void>;
  close(reason: string, code: string): void;
}

/**
 * The receiver refuses a session for want of resources or by policy (memory budget, output file busy or
 * present, stream too large): the sender gets an ERROR frame flagged ERROR_REFUSED with this message, and
 * reports it as a refusal (not an authentication failure).
 */
export class RefusedError extends MigbenchError {
  constructor(message: string) {
    super('E_TRANSPORT', message);
  }
}

export interface CommitReport {
  session: string;
  size: number;
  sink: Sink['kind'];
  status: CommitResult['status'];
  verified: boolean;
  sha256: string | null;
  expectedSha256: string | null;
  covered: number;
  written: number;
  channels: number;
  /** From the first bound channel to the commit. */
  seconds: number;
  /** From the first to the last data byte. */
  dataSeconds: number;
  reason: string;
}

export class ReceiverSession extends EventEmitter {
  readonly channels = new Map<number, SessionChannel>();
  readonly coverage = new Coverage();
  written = 0;
  channelsEverBound = 0;
  readonly startedAt = process.hrtime.bigint();
  firstData: bigint | undefined;
  lastData: bigint | undefined;
  result: CommitResult | undefined;
  private committing: Promise<CommitResult> | undefined;
  private readonly controlSeen = new Set<number>();
  private nextControlSeq = 1;
  private readonly outControls = new Map<number, { body: Buffer; via: number | undefined; resolve: () => void; reject: (e: Error) => void }>();
  ended = false;
  /** Why the receiver abandoned the session (a failed write), if it did. */
  failure: string | undefined;

  constructor(
    readonly id: string,
    readonly size: number,
    readonly sink: Sink,
  ) {
    super();
  }

  get committed(): boolean {
    return this.committing !== undefined;
  }

  /** A data chunk reached the sink. */
  recordWrite(offset: number, length: number): void {
    const now = process.hrtime.bigint();
    if (this.firstData === undefined) this.firstData = now;
    this.lastData = now;
    this.coverage.add(offset, offset + length);
    this.written += length;
  }

  /** A control message from the sender; returns false for a duplicate (already delivered). */
  deliverControl(seq: number, body: Buffer): boolean {
    if (this.controlSeen.has(seq)) return false;
    this.controlSeen.add(seq);
    this.emit('control', body);
    return true;
  }

  /** Send an application control message to the sender; resolves when the sender acknowledged it. */
  sendControl(body: Uint8Array): Promise<void> {
    const seq = this.nextControlSeq++;
    return new Promise<void>((resolve, reject) => {
      this.outControls.set(seq, { body: Buffer.from(body), via: undefined, resolve, reject });
      this.pumpControls();
    });
  }

  controlAcked(seq: number): void {
    const c = this.outControls.get(seq);
    if (!c) return;
    this.outControls.delete(seq);
    c.resolve();
  }

  /** (Re)send every unacknowledged outgoing control message that has no live channel carrying it. */
  pumpControls(): void {
    for (const [seq, c] of this.outControls) {
      if (c.via !== undefined && this.channels.get(c.via)?.alive) continue;
      c.via = undefined;
      for (const ch of this.channels.values()) {
        if (ch.alive && ch.sendControl(seq, c.body)) {
          c.via = ch.channel;
          break;
        }
      }
    }
  }

  /** Wait for every channel's writes, check what arrived against the commit, finish the sink. */
  commit(c: Commit): Promise<CommitResult> {
    this.committing ??= this.doCommit(c);
    return this.committing;
  }

  private async doCommit(c: Commit): Promise<CommitResult> {
    await Promise.all([...this.channels.values()].map((ch) => ch.drainWrites()));
    const covered = this.coverage.covered(this.size);
    let result: CommitResult;
    let finished = false;
    try {
      if (this.failure !== undefined) {
        result = { status: 'failed', sha256: null, covered, written: this.written, reason: this.failure };
      } else if (c.size !== this.size) {
        result = { status: 'mismatch', sha256: null, covered, written: this.written, reason: `commit size ${c.size} differs from the declared ${this.size}` };
      } else if (covered !== this.size) {
        result = { status: 'incomplete', sha256: null, covered, written: this.written, reason: `${this.size - covered} of ${this.size} bytes never arrived` };
      } else {
        const digest = await this.sink.digest(this.size);
        if (digest === null) {
          result = { status: 'unchecked', sha256: null, covered, written: this.written, reason: 'the receiver discards data, so it cannot hash it; every byte arrived with a good CRC-32C' };
        } else if (c.sha256 === null) {
          result = { status: 'unchecked', sha256: digest, covered, written: this.written, reason: 'the sender sent no SHA-256' };
        } else if (digest.equals(c.sha256)) {
          result = { status: 'verified', sha256: digest, covered, written: this.written, reason: 'SHA-256 matches' };
        } else {
          result = { status: 'mismatch', sha256: digest, covered, written: this.written, reason: 'SHA-256 differs from the sender\'s' };
        }
      }
      finished = true;
      await this.sink.finish(result.status === 'verified' || result.status === 'unchecked');
    } catch (e) {
      // Reading the stream back or keeping it failed (ENOSPC on fsync, a failed rename): the sender is
      // told, with the receiver's reason, instead of losing the channel without a word.
      if (!finished) await this.sink.finish(false).catch(() => undefined);
      result = { status: 'failed', sha256: null, covered, written: this.written, reason: `the receiver could not keep the stream: ${(e as Error).message}` };
    }
    this.result = result;
    const now = process.hrtime.bigint();
    const report: CommitReport = {
      session: this.id,
      size: this.size,
      sink: this.sink.kind,
      status: result.status,
      verified: result.status === 'verified',
      sha256: result.sha256?.toString('hex') ?? null,
      expectedSha256: c.sha256?.toString('hex') ?? null,
      covered,
      written: this.written,
      channels: this.channelsEverBound,
      seconds: Number(now - this.startedAt) / 1e9,
      dataSeconds: this.firstData !== undefined && this.lastData !== undefined ? Number(this.lastData - this.firstData) / 1e9 : 0,
      reason: result.reason,
    };
    this.emit('commit', report);
    return result;
  }

  /**
   * The receiver cannot go on with this session (its sink failed a write): every channel is told why with
   * an ERROR frame that fails the whole session at the sender (no failover: another channel would fail
   * the same way), then closed; the sink's partial data is thrown away when the last channel is gone.
   */
  fail(reason: string): void {
    if (this.failure !== undefined || this.ended) return;
    this.failure = reason;
    if (this.committing) return; // the commit's result reports it
    for (const ch of [...this.channels.values()]) ch.failSession(reason);
  }

  /** The last channel closed: abandon an uncommitted session. */
  async end(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    for (const c of this.outControls.values()) c.reject(new Error('session ended before the sender acknowledged the control message'));
    this.outControls.clear();
    if (!this.committing) {
      await this.sink.finish(false).catch(() => undefined);
      this.emit('abort');
    }
  }
}
