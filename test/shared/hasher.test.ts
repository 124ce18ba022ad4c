import { describe, expect, test } from 'vitest';
import { Hasher } from '../../src/shared/hasher.js';

const digest = (v: unknown, opts?: ConstructorParameters<typeof Hasher>[0]): string => {
  const h = new Hasher(opts);
  h.value(v);
  return h.digest();
};

class Stats {
  constructor(readonly hits: number) {}
}

describe('Hasher', () => {
  test('equal contents in fresh objects hash equal; any changed field, element or entry does not', () => {
    const make = () => ({ a: [1, 2, { b: 'x' }], t: new Int32Array([0, 7, 0]), m: new Map([[1, 'one']]), s: new Set([3]), f: 0.5, u: undefined });
    const base = digest(make());
    expect(digest(make())).toBe(base);
    const changed = [
      { ...make(), a: [1, 2, { b: 'y' }] },
      { ...make(), t: new Int32Array([0, 7, 1]) },
      { ...make(), t: new Int32Array([0, 7, 0, 0]) },
      { ...make(), m: new Map([[1, 'uno']]) },
      { ...make(), s: new Set([3, 4]) },
      { ...make(), f: 0.25 },
      { ...make(), u: null },
    ];
    for (const c of changed) expect(digest(c)).not.toBe(base);
    // Maps and Sets in insertion order: the kernel's lists iterate in an order that matters.
    expect(digest(new Set([1, 2]))).not.toBe(digest(new Set([2, 1])));
  });

  test('sharing is part of the hash unless the value is declared acyclic; opaque objects and harness keys are not state', () => {
    const x = { v: 1 };
    const aliased = { a: x, b: x };
    const copied = { a: { v: 1 }, b: { v: 1 } };
    expect(digest(aliased)).not.toBe(digest(copied));
    expect(digest(aliased, { acyclic: true })).toBe(digest(copied, { acyclic: true }));
    const opaque = { opaque: (o: object) => o instanceof Stats };
    expect(digest({ s: new Stats(1) }, opaque)).toBe(digest({ s: new Stats(2) }, opaque));
    expect(digest({ s: new Stats(1) })).not.toBe(digest({ s: new Stats(2) }));
    expect(digest({ v: 1, coverage: { n: 1 }, trace: [1] })).toBe(digest({ v: 1, coverage: { n: 2 }, trace: [] }));
  });

  test('a cycle hashes (by first-visit number) in the default mode', () => {
    const a: { self?: unknown; v: number } = { v: 1 };
    a.self = a;
    const b: { self?: unknown; v: number } = { v: 1 };
    b.self = b;
    expect(digest(a)).toBe(digest(b));
    expect(digest(a)).toMatch(/^[0-9a-f]{16}$/);
  });
});
