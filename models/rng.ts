/**
 * The generator's random source inside one run: a 32-bit xorshift (Marsaglia 2003) seeded by
 * fast-check, so a run is a pure function of (topology, run seed) and fast-check still owns the
 * seeding, the chunk seeds and the `path` that replays a run. Allocation-free: the state-aware
 * generator draws several numbers per step and fast-check's per-draw Arbitrary machinery was
 * the larger part of a step's cost (see the README's Speed section).
 */
export class Rng {
  private s: number;

  constructor(seed: number) {
    // xorshift has the fixed point 0; any other 32-bit state is on the full cycle.
    this.s = (seed | 0) === 0 ? 0x9e3779b9 | 0 : seed | 0;
  }

  /** A uniform 32-bit unsigned integer. */
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x;
    return x >>> 0;
  }

  /** Uniform in [0, n) for 0 < n ≤ 2^32 (modulo bias below 2^-20 for the n used here). */
  below(n: number): number {
    return this.next() % n;
  }

  bool(): boolean {
    return (this.next() & 1) === 1;
  }

  /**
   * An element, biased to the front: the smaller of two uniform indices half the time. The
   * candidate lists are in id order, so a run keeps returning to the same few objects (as
   * fast-check's small-value bias did), and bugs that need two commands on one object show
   * up sooner.
   */
  pick<T>(xs: readonly T[]): T {
    const n = xs.length;
    const a = this.next();
    const i = a % n;
    return xs[(a & 0x80000000) !== 0 ? Math.min(i, this.below(n)) : i]!;
  }
}
