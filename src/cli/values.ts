import { PLATFORMS } from '../shared/index.js';
import type { Platform } from '../shared/index.js';
import { type Checked, bad, good } from '../trace/index.js';

/**
 * Option values: each converter accepts exactly the documented forms and otherwise says, in
 * one line, which option was wrong, what it got and what it expects.
 */
const quote = (s: string): string => `'${s.length > 40 ? `${s.slice(0, 37)}...` : s}'`;

export const parsePlatforms = (s: string): Checked<readonly Platform[]> => {
  if (s === 'both') return good(PLATFORMS);
  const p = PLATFORMS.find((x) => x === s);
  return p === undefined ? bad(`bad --platform ${quote(s)}: expected ${PLATFORMS.join(', ')} or both`) : good([p]);
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

/** fast-check seeds are integers; decimal (optionally negative) or 0x hex. */
export const parseSeed = (s: string): Checked<number> => {
  const n = /^-?\d+$/.test(s) || /^0x[0-9a-f]+$/i.test(s) ? Number(s) : NaN;
  return Number.isSafeInteger(n) ? good(n) : bad(`bad --seed ${quote(s)}: expected an integer (decimal or 0x hex)`);
};

/** A time budget in whole seconds: `90`, `90s`, `2m`, `1h`. */
export const parseDuration = (s: string): Checked<number> => {
  const m = /^(\d+)(s|m|h)?$/.exec(s);
  const seconds = m === null ? NaN : Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1);
  if (!Number.isSafeInteger(seconds) || seconds < 1) {
    return bad(`bad --time ${quote(s)}: expected a positive whole number of seconds (90, 90s, 2m, 1h)`);
  }
  return good(seconds);
};

export const parseChoice = <T extends string>(option: string, s: string, choices: readonly T[]): Checked<T> => {
  const c = choices.find((x) => x === s);
  return c === undefined ? bad(`bad --${option} ${quote(s)}: expected ${choices.join(' or ')}`) : good(c);
};
