/**
 * The seed of the model suites. CI runs on the fixed DEFAULT_SEED; `SVA_SEED=<integer>`
 * chooses another (to reproduce a report or to explore). Nothing here is random: a failing
 * run prints its seed and trace, and the same seed reproduces it byte for byte.
 */
import { DEFAULT_SEED } from '../../models/index.js';

export const suiteSeed = (): number => {
  const raw = process.env.SVA_SEED;
  if (raw === undefined || raw === '') return DEFAULT_SEED;
  const n = Number(raw);
  if (!Number.isInteger(n) || Math.abs(n) > 2 ** 31) throw new Error(`SVA_SEED must be an integer, got '${raw}'`);
  return n | 0;
};
