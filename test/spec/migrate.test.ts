import { describe, expect, test } from 'vitest';
import { cloneSpec, initSpec, linPoints, specPoint, specStep } from '../../src/spec/index.js';
import { PLATFORMS, defaultTopology } from '../../src/shared/index.js';
import type { Command } from '../../src/shared/index.js';

const setup: Command[] = [
  { kind: 'spawn', mm: 0 }, { kind: 'mmap', mm: 0, first: 0, count: 2, prot: 'rw' }, { kind: 'touch', mm: 0, page: 0, write: true },
  { kind: 'bind', dev: 0, mm: 0 },
];
const migrate: Command = { kind: 'migrate', mm: 0, page: 0 };
const dma: Command = { kind: 'dma', dev: 0, mm: 0, page: 0, write: false };

describe.each(PLATFORMS)('migrate\'s two linearization points on %s', (platform) => {
  const ready = () => {
    const s = initSpec(defaultTopology(platform));
    for (const c of setup) specStep(s, c);
    return s;
  };

  test('as one step nothing changes; between its points a device access finds the page absent, after them the same content', () => {
    const s = ready();
    expect(linPoints(s, migrate)).toBe(2);
    const before = specStep(cloneSpec(s), dma);
    expect(before).toMatchObject({ ok: true });
    expect(specStep(s, migrate)).toEqual({ ok: true });
    expect(specStep(cloneSpec(s), dma)).toEqual(before);
    expect(specPoint(s, migrate, 0)).toBeUndefined();
    expect(specStep(cloneSpec(s), dma)).toMatchObject({ ok: false, errno: 'EFAULT', fault: 'page not present' });
    expect(specPoint(s, migrate, 1)).toEqual({ ok: true });
    expect(specStep(s, dma)).toEqual(before);
    expect(s.migrating).toEqual([]);
  });

  test('an absent or PROT_NONE page is not migrated: no window', () => {
    const s = ready();
    specStep(s, { kind: 'mprotect', mm: 0, page: 0, prot: 'none' });
    specPoint(s, migrate, 0);
    expect(s.migrating).toEqual([]);
    specPoint(s, { kind: 'migrate', mm: 0, page: 1 }, 0);
    expect(s.migrating).toEqual([]);
  });
});

describe('migrate of a folio a fork shares copy-on-write (try_to_migrate walks every mapping)', () => {
  test('the child\'s migrate unmaps the parent\'s mapping of the same page until its second point; an exclusive page of another mm is left alone', () => {
    const s = initSpec(defaultTopology('vtd'));
    for (const c of setup) specStep(s, c);
    expect(specStep(s, { kind: 'fork', mm: 0, child: 1 })).toEqual({ ok: true, value: 1 });
    const parent = specStep(cloneSpec(s), dma);
    expect(parent).toMatchObject({ ok: true });
    const child: Command = { kind: 'migrate', mm: 1, page: 0 };
    expect(specPoint(s, child, 0)).toBeUndefined();
    expect(s.slots[0]!.pte[0]).toBe(0);
    expect(specStep(cloneSpec(s), dma)).toMatchObject({ ok: false, errno: 'EFAULT', fault: 'page not present' });
    expect(specPoint(s, child, 1)).toEqual({ ok: true });
    expect(s.migrating).toEqual([]);
    expect(specStep(s, dma)).toEqual(parent);
    // After the parent's write fault claims its own copy, the child's migrate leaves it mapped.
    specStep(s, { kind: 'touch', mm: 0, page: 0, write: true });
    expect(specPoint(s, child, 0)).toBeUndefined();
    expect(specStep(cloneSpec(s), dma)).toMatchObject({ ok: true });
    expect(specPoint(s, child, 1)).toEqual({ ok: true });
  });
});

test('a sharer\'s munmap between the migrate\'s points is not undone by the remap (remove_migration_ptes finds no entry there)', () => {
  const s = initSpec(defaultTopology('vtd'));
  for (const c of setup) specStep(s, c);
  specStep(s, { kind: 'fork', mm: 0, child: 1 });
  const child: Command = { kind: 'migrate', mm: 1, page: 0 };
  expect(specPoint(s, child, 0)).toBeUndefined();
  specStep(s, { kind: 'munmap', mm: 0, first: 0, count: 1 });
  expect(specPoint(s, child, 1)).toEqual({ ok: true });
  expect(s.slots[0]!.pte[0]).toBe(0);
  expect(s.slots[1]!.pte[0]).not.toBe(0);
  expect(s.migrating).toEqual([]);
});
