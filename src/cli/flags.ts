// Flag values through the units module, with errors that name the flag and the expected form.
import { InputError, UnitError } from '../errors.js';
import { parseDuration, parseRate, parseSize } from '../units/index.js';

function wrap<T>(flag: string, value: string, f: (v: string) => T): T {
  try {
    return f(value);
  } catch (e) {
    if (e instanceof UnitError) throw new InputError({ source: flag, expected: e.expected, got: value });
    throw e;
  }
}

export function sizeFlag(flag: string, value: string, min = 0): number {
  const v = wrap(flag, value, parseSize);
  if (v < min) throw new InputError({ source: flag, expected: `a size of at least ${min} bytes`, got: value });
  return v;
}

export function rateFlag(flag: string, value: string): number {
  const v = wrap(flag, value, parseRate);
  if (!(v > 0)) throw new InputError({ source: flag, expected: 'a positive rate such as 1Gbit/s', got: value });
  return v;
}

export function durationFlag(flag: string, value: string): number {
  const v = wrap(flag, value, parseDuration);
  if (!(v > 0)) throw new InputError({ source: flag, expected: 'a positive duration such as 5s or 300ms', got: value });
  return v;
}

export function intFlag(flag: string, value: string, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(value);
  if (!/^[0-9]+$/.test(value.trim()) || n < min || n > max) {
    const expected = max < Number.MAX_SAFE_INTEGER ? `an integer from ${min} to ${max}` : min === 1 ? 'a positive integer' : `an integer of at least ${min}`;
    throw new InputError({ source: flag, expected, got: value });
  }
  return n;
}
