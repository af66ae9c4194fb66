// Seeded pseudo-random streams. Each random process (a workload, a probe, a fault jitter) draws from its
// own stream, derived from the run's seed and the process's name, so adding a process or reordering
// draws elsewhere never changes another process's numbers, and runs never depend on scheduling.
//
// The generator is SFC32 (Chris Doty-Humphrey's Small Fast Counting generator, PractRand-clean, 128-bit
// state). It is written here rather than taken from a package because the simulator draws hundreds of
// millions of numbers per sweep and needs a mutable, allocation-free generator; seed derivation uses
// SHA-256 from node:crypto.

import { createHash } from 'node:crypto';

/** Derive a 128-bit stream seed (four uint32) from a base seed and a path of labels. */
export function deriveSeedWords(seed: number | string, ...labels: (string | number)[]): Uint32Array {
  const h = createHash('sha256');
  h.update(`migbench:${String(seed)}`);
  for (const l of labels) h.update(`\u0000${String(l)}`);
  const d = h.digest();
  return new Uint32Array([d.readUInt32LE(0), d.readUInt32LE(4), d.readUInt32LE(8), d.readUInt32LE(12)]);
}

/** A 31-bit integer seed derived from text (for scenario keys -> run seeds). */
export function deriveSeed(seed: number | string, ...labels: (string | number)[]): number {
  return deriveSeedWords(seed, ...labels)[0]! >>> 1;
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(words: Uint32Array) {
    this.a = words[0]! | 0;
    this.b = words[1]! | 0;
    this.c = words[2]! | 0;
    this.d = words[3]! | 0;
    if ((this.a | this.b | this.c | this.d) === 0) this.d = 1;
    for (let i = 0; i < 12; i++) this.nextU32(); // mix the seed in
  }

  /** A stream for one random process: `Rng.stream(seed, 'workload')`. */
  static stream(seed: number | string, ...labels: (string | number)[]): Rng {
    return new Rng(deriveSeedWords(seed, ...labels));
  }

  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    let a = this.a,
      b = this.b,
      c = this.c,
      d = this.d;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    this.a = a;
    this.b = b;
    this.c = c;
    this.d = d;
    return t >>> 0;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform in (0, 1]: safe to take the log of. */
  nextOpen(): number {
    return (this.nextU32() + 1) / 4294967296;
  }

  /** Uniform integer in [0, n) for n <= 2^32 (multiply-shift; bias below 2^-32 * n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Exponential variate with the given rate (mean 1/rate). */
  exponential(rate: number): number {
    return -Math.log(this.nextOpen()) / rate;
  }

  /** Standard normal (Box-Muller, one value per call). */
  normal(): number {
    const u = this.nextOpen();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /**
   * Poisson variate. Knuth's product method for small means, a normal approximation with continuity
   * correction above 50 (relative error of the variance well under 1% there).
   */
  poisson(mean: number): number {
    if (mean <= 0) return 0;
    if (mean < 50) {
      const l = Math.exp(-mean);
      let k = 0;
      let p = this.next();
      while (p > l) {
        k++;
        p *= this.next();
      }
      return k;
    }
    return Math.max(0, Math.round(mean + Math.sqrt(mean) * this.normal()));
  }

  /**
   * A 32-bit mask in which each bit is set independently with probability p, quantized to 2^-16.
   * Built from p's binary expansion, least significant bit first: x := bit ? (x | r) : (x & r).
   */
  bernoulliMask32(p: number): number {
    if (p <= 0) return 0;
    if (p >= 1) return 0xffffffff | 0;
    const q = Math.round(p * 65536);
    if (q <= 0) return 0;
    if (q >= 65536) return 0xffffffff | 0;
    let x = 0;
    for (let i = 0; i < 16; i++) {
      const r = this.nextU32() | 0;
      x = (q >>> i) & 1 ? x | r : x & r;
    }
    return x;
  }
}
