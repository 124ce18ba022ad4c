/**
 * The schedulers' random numbers: xorshift32 (Marsaglia 2003), seeded through a splitmix32
 * round so that small neighbouring seeds (0, 1, 2 ...) give unrelated streams and seed 0 is
 * not the all-zero fixed point. Deterministic and allocation-free per draw.
 */
export class Rng {
  private s: number;
  constructor(seed: number) {
    let z = (seed + 0x9e3779b9) | 0;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    z ^= z >>> 16;
    this.s = z === 0 ? 0x6d2b79f5 : z;
  }
  /** The next 32-bit value, unsigned. */
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x;
    return x >>> 0;
  }
  /** Uniform in [0, n) for n ≥ 1 (multiply-shift: no modulo bias worth measuring at n ≤ 2^16). */
  below(n: number): number {
    return Math.floor((this.next() / 4294967296) * n);
  }
}
