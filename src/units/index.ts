// Sizes, rates and durations: parsed and printed here and nowhere else. Inside migbench every size is
// a number of bytes, every rate bytes per second, every duration seconds.

import { UnitError } from '../errors.js';

/** Guest page size: 4 KiB, as x86 guests use for dirty tracking. */
export const PAGE_SIZE = 4096;

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  pb: 1e15,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
  pib: 2 ** 50,
  page: PAGE_SIZE,
  pages: PAGE_SIZE,
};

// Bit units are case-sensitive in spirit ("Gbit"), but we accept any case for the word "bit".
const BIT_UNITS: Record<string, number> = {
  bit: 1,
  kbit: 1e3,
  mbit: 1e6,
  gbit: 1e9,
  tbit: 1e12,
  kibit: 2 ** 10,
  mibit: 2 ** 20,
  gibit: 2 ** 30,
};

const DURATION_UNITS: Record<string, number> = {
  ns: 1e-9,
  us: 1e-6,
  µs: 1e-6,
  ms: 1e-3,
  s: 1,
  sec: 1,
  m: 60,
  min: 60,
  h: 3600,
};

const NUMBER = String.raw`([0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)`;
const SIZE_RE = new RegExp(`^${NUMBER}\\s*([a-zA-Z]*)$`);
const RATE_RE = new RegExp(`^${NUMBER}\\s*([a-zA-Z]+)(?:/s|ps)$`);
const DURATION_RE = new RegExp(`^${NUMBER}\\s*([a-zA-Zµ]*)$`);

const SIZE_FORM = 'a size such as 8GiB, 8GB, 512MiB, 4096 (bytes) or 100pages';
const RATE_FORM = 'a rate such as 10Gbit/s, 1Gbps, 1.2GB/s, 100MiB/s or 25000pages/s';
const DURATION_FORM = 'a duration such as 300ms, 2s, 50us or 1.5min';

/** Parse a size: "8GiB" (IEC, powers of 1024), "8GB" (SI, powers of 1000), "4096" (bytes), "10pages". */
export function parseSize(text: string): number {
  const m = SIZE_RE.exec(text.trim());
  if (!m) throw new UnitError(SIZE_FORM, text);
  const value = Number(m[1]);
  const unit = (m[2] ?? '').toLowerCase();
  const factor = unit === '' ? 1 : SIZE_UNITS[unit];
  if (factor === undefined) throw new UnitError(SIZE_FORM, text);
  const bytes = value * factor;
  if (!Number.isFinite(bytes)) throw new UnitError(SIZE_FORM, text);
  return Math.round(bytes);
}

/**
 * Parse a rate into bytes per second. Bits: "10Gbit/s", "10Gbps", "100Mbit/s". Bytes: "1.2GB/s",
 * "100MiB/s", "500B/s". Pages: "25000pages/s" (4 KiB pages).
 */
export function parseRate(text: string): number {
  const t = text.trim();
  const m = RATE_RE.exec(t);
  if (!m) throw new UnitError(RATE_FORM, text);
  const value = Number(m[1]);
  const raw = m[2] ?? '';
  const perSecondSuffix = t.endsWith('ps') && !t.endsWith('/s');
  let bytesPerSecond: number | undefined;
  if (perSecondSuffix) {
    // "Gbps", "Mbps", "kbps": bits. "GBps" / "MBps": bytes (upper-case B).
    const prefix = raw.slice(0, -1);
    const bOrBit = raw.slice(-1);
    const mult = prefixMultiplier(prefix);
    if (mult === undefined) throw new UnitError(RATE_FORM, text);
    if (bOrBit === 'b') bytesPerSecond = (value * mult) / 8;
    else if (bOrBit === 'B') bytesPerSecond = value * mult;
  } else {
    const lower = raw.toLowerCase();
    if (BIT_UNITS[lower] !== undefined) bytesPerSecond = (value * BIT_UNITS[lower]) / 8;
    else if (SIZE_UNITS[lower] !== undefined) bytesPerSecond = value * SIZE_UNITS[lower];
  }
  if (bytesPerSecond === undefined || !Number.isFinite(bytesPerSecond)) throw new UnitError(RATE_FORM, text);
  return bytesPerSecond;
}

function prefixMultiplier(prefix: string): number | undefined {
  switch (prefix) {
    case '':
      return 1;
    case 'k':
    case 'K':
      return 1e3;
    case 'M':
      return 1e6;
    case 'G':
      return 1e9;
    case 'T':
      return 1e12;
    default:
      return undefined;
  }
}

/** Parse a duration into seconds: "300ms", "2s", "50us", "1.5min". A bare number is seconds. */
export function parseDuration(text: string): number {
  const m = DURATION_RE.exec(text.trim());
  if (!m) throw new UnitError(DURATION_FORM, text);
  const value = Number(m[1]);
  const unit = m[2] ?? '';
  const factor = unit === '' ? 1 : DURATION_UNITS[unit.toLowerCase()] ?? DURATION_UNITS[unit];
  if (factor === undefined || !Number.isFinite(value * factor)) throw new UnitError(DURATION_FORM, text);
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
