// Sizes, rates and durations: parsed and printed here and nowhere else. Inside migbench every size is
// a number of bytes, every rate bytes per second, every duration seconds.
//
// One strict grammar (docs/transport.md, "Units"): units are case-exact where case carries meaning.
// - An upper-case B is a byte, a lower-case b a bit. Sizes are bytes: "8GB", "8GiB", "4096", "10pages";
//   a size in bits ("8Gb", "8gib", "1Gbit") is refused with a suggestion, never guessed.
// - Rates: bits as "10Gbit/s", "10Gb/s" or "10Gbps"; bytes as "1.2GB/s", "1GBps", "100MiB/s"; "25000pages/s".
// - Prefixes: k or K (kilo), M, G, T, P (upper case only: a lower-case m is milli), Ki/Mi/Gi/Ti/Pi (IEC).
// - Durations: ns, us, µs, ms, s, sec, min, h (a bare "m" is refused: minutes or milliseconds?).
// - Values must be finite and, in bytes, exact integers JavaScript can hold (at most 2^53 - 1).

import { UnitError } from '../errors.js';

/** Guest page size: 4 KiB, as x86 guests use for dirty tracking. */
export const PAGE_SIZE = 4096;

/** Decimal (SI) and binary (IEC) prefixes, case-exact: k/K kilo, then upper case only. */
const SI: Record<string, number> = { '': 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15 };
const IEC_PREFIX: Record<string, number> = { Ki: 2 ** 10, ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50 };

/** Multiplier of a prefix ("G", "Gi", ""), or undefined. */
function prefix(p: string): number | undefined {
  return SI[p] ?? IEC_PREFIX[p];
}

/** Bytes per unit of a byte unit ("GiB", "MB", "B", "pages"), or undefined. */
function byteUnit(u: string): number | undefined {
  if (u === 'page' || u === 'pages') return PAGE_SIZE;
  if (!u.endsWith('B')) return undefined;
  return prefix(u.slice(0, -1));
}

/** Bits per unit of a bit unit ("Gbit", "Gb", "Mibit", "bit"), or undefined. */
function bitUnit(u: string): number | undefined {
  if (u.endsWith('bit')) return prefix(u.slice(0, -3));
  if (u.endsWith('b')) return prefix(u.slice(0, -1));
  return undefined;
}

/** The same unit with its prefix in the conventional case, for suggestions ("gib" -> "Gi", "mb" -> "M"). */
function fixPrefix(p: string): string {
  const l = p.toLowerCase();
  if (l === 'k') return 'k';
  if (l.length === 2 && l[1] === 'i') return `${l[0] === 'k' ? 'K' : l[0]!.toUpperCase()}i`;
  return l.toUpperCase();
}

const DURATION_UNITS: Record<string, number> = {
  ns: 1e-9,
  us: 1e-6,
  µs: 1e-6,
  ms: 1e-3,
  s: 1,
  sec: 1,
  min: 60,
  h: 3600,
};

const NUMBER = String.raw`([0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)`;
const SIZE_RE = new RegExp(`^${NUMBER}\\s*([a-zA-Z]*)$`);
const RATE_RE = new RegExp(`^${NUMBER}\\s*([a-zA-Z]+?)(/s|ps)$`);
const DURATION_RE = new RegExp(`^${NUMBER}\\s*([a-zA-Zµ]*)$`);

const SIZE_FORM = 'a size such as 8GiB, 8GB, 512MiB, 4096 (bytes) or 100pages (in bytes: B is a byte; prefixes k, M, G, T, P or Ki, Mi, Gi, Ti, Pi)';
const RATE_FORM = 'a rate such as 10Gbit/s, 10Gb/s, 1Gbps (bits: lower-case b), 1.2GB/s, 1GBps, 100MiB/s (bytes: upper-case B) or 25000pages/s';
const DURATION_FORM = 'a duration such as 300ms, 2s, 50us or 1.5min';
/** Largest byte count (exact in a JavaScript number). */
export const MAX_BYTES = Number.MAX_SAFE_INTEGER;

/** Parse a size: "8GiB" (IEC, powers of 1024), "8GB" (SI, powers of 1000), "4096" (bytes), "10pages". */
export function parseSize(text: string): number {
  const m = SIZE_RE.exec(text.trim());
  if (!m) throw new UnitError(SIZE_FORM, text);
  const value = Number(m[1]);
  const unit = m[2] ?? '';
  const factor = unit === '' ? 1 : byteUnit(unit);
  if (factor === undefined) throw new UnitError(sizeHint(m[1]!, unit), text);
  const bytes = value * factor;
  if (!Number.isFinite(bytes)) throw new UnitError(SIZE_FORM, text);
  if (bytes > MAX_BYTES) throw new UnitError(`a size of at most 2^53 - 1 bytes (just under 8 PiB)`, text);
  return Math.round(bytes);
}

/** What to say about a size unit that is not one: a bit unit, or a prefix in the wrong case. */
function sizeHint(n: string, unit: string): string {
  const lower = unit.toLowerCase();
  const stem = lower.endsWith('bit') ? lower.slice(0, -3) : lower.endsWith('b') ? lower.slice(0, -1) : null;
  if (stem !== null && (stem === '' || /^[kmgtp]i?$/.test(stem))) {
    const p = fixPrefix(stem);
    const isBits = unit.endsWith('bit') || unit.endsWith('b');
    const suggest = p.endsWith('i') ? `${n}${p}B` : p === '' ? `${n}B` : `${n}${p}B or ${n}${p}iB`;
    return isBits
      ? `a size in bytes: a lower-case b (or "bit") is a bit, and sizes are not given in bits; did you mean ${suggest}?`
      : `a size with a case-exact unit (k or K, then M, G, T, P: a lower-case m is milli); did you mean ${suggest}?`;
  }
  return SIZE_FORM;
}

/**
 * Parse a rate into bytes per second. Bits (lower-case b): "10Gbit/s", "10Gb/s", "10Gbps", "100Mbit/s".
 * Bytes (upper-case B): "1.2GB/s", "1GBps", "100MiB/s", "500B/s". Pages: "25000pages/s" (4 KiB pages).
 */
export function parseRate(text: string): number {
  const t = text.trim();
  const m = RATE_RE.exec(t);
  if (!m) throw new UnitError(RATE_FORM, text);
  const value = Number(m[1]);
  const unit = m[2] ?? '';
  const bytes = byteUnit(unit);
  const bits = bitUnit(unit);
  let bytesPerSecond: number | undefined;
  if (bytes !== undefined) bytesPerSecond = value * bytes;
  else if (bits !== undefined) bytesPerSecond = (value * bits) / 8;
  if (bytesPerSecond === undefined) throw new UnitError(rateHint(m[1]!, unit, m[3]!), text);
  if (!Number.isFinite(bytesPerSecond) || bytesPerSecond > MAX_BYTES) throw new UnitError(RATE_FORM, text);
  return bytesPerSecond;
}

function rateHint(n: string, unit: string, per: string): string {
  const lower = unit.toLowerCase();
  const m = /^([kmgtp]i?)?(bit|b)$/.exec(lower);
  if (m) {
    const p = fixPrefix(m[1] ?? '');
    const suggest = unit.endsWith('B') ? `${n}${p}B${per}` : `${n}${p}${m[2]}${per}`;
    return `a rate with a case-exact prefix (k or K, then M, G, T: a lower-case m is milli); did you mean ${suggest}?`;
  }
  return RATE_FORM;
}

/** Parse a duration into seconds: "300ms", "2s", "50us", "1.5min". A bare number is seconds. */
export function parseDuration(text: string): number {
  const m = DURATION_RE.exec(text.trim());
  if (!m) throw new UnitError(DURATION_FORM, text);
  const value = Number(m[1]);
  const unit = m[2] ?? '';
  const factor = unit === '' ? 1 : DURATION_UNITS[unit];
  if (factor === undefined) {
    const hint = unit === 'm' ? `${DURATION_FORM} ("m" could be minutes or milliseconds: write ${m[1]}min or ${m[1]}ms)` : DURATION_FORM;
    throw new UnitError(hint, text);
  }
  if (!Number.isFinite(value * factor)) throw new UnitError(DURATION_FORM, text);
  return value * factor;
}

/** Parse a fraction: "0.25", "25%". Must lie in [0, 1]. */
export function parseFraction(text: string): number {
  const t = text.trim();
  const pct = t.endsWith('%');
  const n = Number(pct ? t.slice(0, -1) : t);
  const v = pct ? n / 100 : n;
  if (t === '' || t === '%' || !Number.isFinite(v) || v < 0 || v > 1) {
    throw new UnitError('a fraction between 0 and 1, such as 0.25 or 25%', text);
  }
  return v;
}

// ---------------------------------------------------------------------------------------------------
// Printing

const IEC = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** 8589934592 -> "8 GiB"; 1536 -> "1.5 KiB". */
export function formatBytes(bytes: number, digits = 3): string {
  if (!Number.isFinite(bytes)) return String(bytes);
  let v = Math.abs(bytes);
  let i = 0;
  // Step up while the printed value would reach 1024 (so 1023.9 KiB prints as 1 MiB, not 1024 KiB).
  while (Number(trim(v, digits)) >= 1024 && i < IEC.length - 1) {
    v /= 1024;
    i++;
  }
  return `${bytes < 0 ? '-' : ''}${trim(v, digits)} ${IEC[i]}`;
}

/** Bytes per second -> "9.41 Gbit/s" (network convention: SI bits). */
export function formatRate(bytesPerSecond: number, digits = 3): string {
  const bits = bytesPerSecond * 8;
  const units: [number, string][] = [
    [1e12, 'Tbit/s'],
    [1e9, 'Gbit/s'],
    [1e6, 'Mbit/s'],
    [1e3, 'kbit/s'],
  ];
  // Compare the printed value, so 999.96 Mbit/s prints as 1 Gbit/s, not 1000 Mbit/s.
  for (const [f, u] of units) if (Number(trim(Math.abs(bits) / f, digits)) >= 1) return `${trim(bits / f, digits)} ${u}`;
  return `${trim(bits, digits)} bit/s`;
}

/** Seconds -> "312 ms", "4.52 s", "12 min 3 s", "35 us". Rounds before choosing the unit (no "1000 ms", no "60 s"). */
export function formatDuration(seconds: number, digits = 3): string {
  if (!Number.isFinite(seconds)) return String(seconds);
  if (seconds === 0) return '0 s';
  const sign = seconds < 0 ? '-' : '';
  const a = Number(trim(Math.abs(seconds), digits));
  if (a >= 600 || Math.round(Math.abs(seconds)) >= 600) {
    const whole = Math.round(Math.abs(seconds));
    const min = Math.floor(whole / 60);
    return `${sign}${min} min ${whole - min * 60} s`;
  }
  if (a >= 1) return `${sign}${trim(a, digits)} s`;
  if (a >= 1e-3) return `${sign}${trim(a * 1e3, digits)} ms`;
  return `${sign}${trim(a * 1e6, digits)} us`;
}

/** Significant digits, without trailing zeros or exponent notation. */
function trim(v: number, digits: number): string {
  if (v === 0) return '0';
  const mag = Math.floor(Math.log10(Math.abs(v)));
  const decimals = Math.max(0, digits - 1 - mag);
  return Number(v.toFixed(decimals)).toString();
}

export const BITS_PER_BYTE = 8;
/** Gbit/s from bytes per second (for result fields named *_gbps). */
export function toGbps(bytesPerSecond: number): number {
  return (bytesPerSecond * 8) / 1e9;
}
