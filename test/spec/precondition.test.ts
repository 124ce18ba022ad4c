import { describe, expect, test } from 'vitest';
import { defaultTopology } from '../../src/shared/index.js';
import { initSpec, precondition } from '../../src/spec/index.js';
import { bind, dma, run, spawn, unbind } from './helpers.js';

describe('precondition is the caller contract', () => {
  test('bind needs a live mm; unbind needs a bond of that pair', () => {
    const s = initSpec(defaultTopology('vtd'));
    expect(precondition(s, bind(0, 0))).toBe(false);
    run(s, spawn(0));
    expect(precondition(s, bind(0, 0))).toBe(true);
    expect(precondition(s, unbind(0, 0))).toBe(false);
    run(s, bind(0, 0));
    expect(precondition(s, unbind(0, 0))).toBe(true);
    expect(precondition(s, unbind(2, 0))).toBe(false);
    run(s, { kind: 'exit', mm: 0 });
    expect(precondition(s, bind(0, 0))).toBe(false);
    expect(precondition(s, unbind(0, 0))).toBe(true);
  });

  test('a failed bind is not a bond', () => {
    const s = initSpec(defaultTopology('vtd'));
    run(s, spawn(0));
    expect(run(s, bind(1, 0)).ok).toBe(false);
    expect(precondition(s, unbind(1, 0))).toBe(false);
  });

  test('mmap rejects overlaps and ranges past the end; mprotect needs a VMA', () => {
    const s = initSpec(defaultTopology('vtd')); // 6 pages
    run(s, spawn(0));
    expect(precondition(s, { kind: 'mmap', mm: 0, first: 4, count: 3, prot: 'r' })).toBe(false);
    expect(precondition(s, { kind: 'mmap', mm: 0, first: 0, count: 0, prot: 'r' })).toBe(false);
    run(s, { kind: 'mmap', mm: 0, first: 1, count: 2, prot: 'r' });
    expect(precondition(s, { kind: 'mmap', mm: 0, first: 0, count: 2, prot: 'r' })).toBe(false);
    expect(precondition(s, { kind: 'mmap', mm: 0, first: 3, count: 3, prot: 'r' })).toBe(true);
    expect(precondition(s, { kind: 'mprotect', mm: 0, page: 0, prot: 'rw' })).toBe(false);
    expect(precondition(s, { kind: 'mprotect', mm: 0, page: 2, prot: 'rw' })).toBe(true);
    expect(precondition(s, { kind: 'munmap', mm: 0, first: 0, count: 6 })).toBe(true);
  });

  test('dma needs an mm_struct that is not freed and has a PASID', () => {
    const s = initSpec(defaultTopology('vtd'));
    run(s, spawn(0));
    expect(precondition(s, dma(0, 0, 0))).toBe(false);
    run(s, bind(2, 0));
    expect(precondition(s, dma(0, 0, 0))).toBe(true); // unbound devices may try
    run(s, { kind: 'exit', mm: 0 });
    run(s, { kind: 'mmdrop', mm: 0 });
    expect(precondition(s, dma(0, 0, 0))).toBe(true); // dropped: SVA still pins it
    run(s, unbind(2, 0));
    run(s, { kind: 'gracePeriod' });
    expect(precondition(s, dma(0, 0, 0))).toBe(false);
  });

  test('lifecycle commands follow the slot states', () => {
    const s = initSpec(defaultTopology('vtd'));
    expect(precondition(s, { kind: 'exit', mm: 0 })).toBe(false);
    expect(precondition(s, { kind: 'fork', mm: 0, child: 1 })).toBe(false);
    run(s, spawn(0));
    expect(precondition(s, spawn(0))).toBe(false);
    expect(precondition(s, { kind: 'fork', mm: 0, child: 0 })).toBe(false);
    expect(precondition(s, { kind: 'fork', mm: 0, child: 1 })).toBe(true);
    expect(precondition(s, { kind: 'mmdrop', mm: 0 })).toBe(false);
    run(s, { kind: 'exit', mm: 0 });
    expect(precondition(s, { kind: 'mmdrop', mm: 0 })).toBe(true);
    expect(precondition(s, { kind: 'gracePeriod' })).toBe(true);
  });

  test('kernel pages and fault injection take one state at a time', () => {
    const s = initSpec(defaultTopology('vtd'));
    expect(precondition(s, { kind: 'vfree', kpage: 0 })).toBe(false);
    run(s, { kind: 'vmalloc', kpage: 0 });
    expect(precondition(s, { kind: 'vmalloc', kpage: 0 })).toBe(false);
    expect(precondition(s, { kind: 'vmalloc', kpage: 2 })).toBe(false); // kpages = 2
    run(s, { kind: 'failNext', site: 'kzalloc@iommu_sva_bind_device' });
    expect(precondition(s, { kind: 'failNext', site: 'kzalloc@intel_svm_domain_alloc' })).toBe(false);
  });

  test('out-of-range ids are never legal', () => {
    const s = initSpec(defaultTopology('vtd'));
    expect(precondition(s, spawn(3))).toBe(false);
    expect(precondition(s, spawn(-1))).toBe(false);
    run(s, spawn(0));
    expect(precondition(s, bind(4, 0))).toBe(false);
    expect(precondition(s, { kind: 'touch', mm: 0, page: 6, write: false })).toBe(false);
  });
});
