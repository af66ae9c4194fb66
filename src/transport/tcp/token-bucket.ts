// Token bucket rate limit for one channel (emulates a 1 or 10 Gbit/s link on loopback). Pure: the caller
// passes the time. Tokens may go negative: a frame larger than the burst is sent, and the debt delays
// the next one, so the long-run rate is exact whatever the frame size.

import { StateError } from '../../errors.js';

export class TokenBucket {
  private tokens: number;
  private last: number | undefined;

  /** `rate` bytes per second; `burst` bytes that may go out back to back (default: 10 ms of rate, >= 64 KiB). */
  constructor(
    readonly rate: number,
    readonly burst: number = Math.max(65536, rate * 0.01),
  ) {
    if (!(rate > 0) || !Number.isFinite(rate)) throw new StateError(`token bucket: rate must be positive, got ${rate}`);
    if (!(burst > 0)) throw new StateError(`token bucket: burst must be positive, got ${burst}`);
    this.tokens = burst;
  }

  private refill(now: number): void {
    if (this.last !== undefined && now > this.last) this.tokens = Math.min(this.burst, this.tokens + (now - this.last) * this.rate);
    if (this.last === undefined || now > this.last) this.last = now;
  }

  /** Seconds to wait at time `now` before sending may resume (0 when it may send now). */
  delay(now: number): number {
    this.refill(now);
    return this.tokens >= 0 ? 0 : -this.tokens / this.rate;
  }

  /** Account for `bytes` sent at `now`. */
  take(bytes: number, now: number): void {
    this.refill(now);
    this.tokens -= bytes;
  }
}
