import { PLATFORMS } from '../shared/index.js';
import type { Platform } from '../shared/index.js';
import { type Checked, bad, good } from '../trace/index.js';

/**
 * Option values: each converter accepts exactly the documented forms and otherwise says, in
 * one line, which option was wrong, what it got and what it expects.
 */
const quote = (s: string): string => `'${s.length > 40 ? `${s.slice(0, 37)}...` : s}'`;

export const parsePlatforms = (s: string): Checked<readonly Platform[]> => {
  // 'both' named vtd and smmuv3 before AMD came; old configs and scripts keep working.
  if (s === 'all' || s === 'both') return good(PLATFORMS);
  const p = PLATFORMS.find((x) => x === s);
  return p === undefined ? bad(`bad --platform ${quote(s)}: expected ${PLATFORMS.join(', ')} or all`) : good([p]);
};

/** A whole number in [min, max]; decimal digits only (no signs, exponents or fractions). */
export const parseCount = (option: string, s: string, min: number, max = Number.MAX_SAFE_INTEGER): Checked<number> => {
  const n = /^\d+$/.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? (min === 1 ? 'a positive integer' : `an integer >= ${min}`) : `an integer from ${min} to ${max}`;
    return bad(`bad --${option} ${quote(s)}: expected ${range}`);
  }
  return good(n);
};

/**
 * fast-check seeds are 32-bit (pure-rand reads `seed | 0`), so 4294967297 would silently run
 * seed 1: only the signed 32-bit range is accepted, decimal or 0x hex (up to 0x7fffffff).
 */
export const SEED_MIN = -0x80000000;
export const SEED_MAX = 0x7fffffff;

export const parseSeed = (s: string): Checked<number> => {
  const n = /^-?\d+$/.test(s) || /^0x[0-9a-f]+$/i.test(s) ? Number(s) : NaN;
  return Number.isSafeInteger(n) && n >= SEED_MIN && n <= SEED_MAX
    ? good(n)
    : bad(`bad --seed ${quote(s)}: expected an integer from ${SEED_MIN} to ${SEED_MAX} (decimal, or 0x hex up to 0x7fffffff)`);
};

/** A time budget in whole seconds: `90`, `90s`, `2m`, `1h`. */
export const parseDuration = (s: string, option = 'time'): Checked<number> => {
  const m = /^(\d+)(s|m|h)?$/.exec(s);
  const seconds = m === null ? NaN : Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1);
  if (!Number.isSafeInteger(seconds) || seconds < 1) {
    return bad(`bad --${option} ${quote(s)}: expected a positive whole number of seconds (90, 90s, 2m, 1h)`);
  }
  return good(seconds);
};

/** `--slice i/n`: part i (1-based) of n. */
export const MAX_SLICES = 10_000;

export const parseSlice = (s: string): Checked<{ readonly index: number; readonly count: number }> => {
  const m = /^(\d+)\/(\d+)$/.exec(s);
  const index = m === null ? NaN : Number(m[1]);
  const count = m === null ? NaN : Number(m[2]);
  if (!(index >= 1 && count >= 1 && index <= count && count <= MAX_SLICES)) {
    return bad(`bad --slice ${quote(s)}: expected I/N with 1 <= I <= N <= ${MAX_SLICES}, e.g. 2/4`);
  }
  return good({ index, count });
};

export const parseChoice = <T extends string>(option: string, s: string, choices: readonly T[]): Checked<T> => {
  const c = choices.find((x) => x === s);
  return c === undefined ? bad(`bad --${option} ${quote(s)}: expected ${choices.join(' or ')}`) : good(c);
};
