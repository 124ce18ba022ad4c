import { describe, expect, test } from 'vitest';
import { defaultTopology, userToken } from '../../src/shared/index.js';
import { abstractView, initSpec, precondition } from '../../src/spec/index.js';
import { bind, dma, run, spawn, unbind } from './helpers.js';

describe('exit, mmdrop, grace periods and fork', () => {
  test('exit while bound makes DMA fault and keeps the PASID until mmdrop, unbind and a grace period', () => {
    const s = initSpec(defaultTopology('smmuv3'));
    run(s, spawn(0));
    run(s, { kind: 'mmap', mm: 0, first: 0, count: 2, prot: 'rw' });
    run(s, { kind: 'touch', mm: 0, page: 0, write: true });
    run(s, bind(0, 0));
    expect(run(s, dma(0, 0, 0, true))).toEqual({ ok: true, value: userToken(0, 0, 1) });
    run(s, { kind: 'exit', mm: 0 });
    expect(run(s, dma(0, 0, 0))).toMatchObject({ ok: false, errno: 'EFAULT' });
    run(s, { kind: 'mmdrop', mm: 0 });
    expect(abstractView(s).slots[0]).toMatchObject({ state: 'dropped', pasid: 1 });
    run(s, unbind(0, 0));
    expect(abstractView(s).slots[0]).toMatchObject({ state: 'dropped', pasid: 1, pendingNotifiers: 1 });
    expect(abstractView(s).asids).toEqual([]); // xa_erase at domain free, not after SRCU
    run(s, spawn(1));
    expect(run(s, bind(0, 1))).toEqual({ ok: true, value: 2 });
    run(s, { kind: 'gracePeriod' });
    expect(abstractView(s).slots[0]).toMatchObject({ state: 'freed', pasid: null, pendingNotifiers: 0 });
    expect(abstractView(s).pasids).toEqual([2]);
  });

  test('mmdrop without SVA pins frees the mm and its PASID at once', () => {
    const s = initSpec(defaultTopology('vtd'));
    run(s, spawn(0));
    run(s, { kind: 'failNext', site: 'kzalloc@iommu_sva_bind_device' });
    s.injected = 'kzalloc@iommu_sva_bind_device'; // the kernel's report of the failed kzalloc
    run(s, bind(0, 0)); // PASID assigned, no domain
    run(s, { kind: 'exit', mm: 0 });
    run(s, { kind: 'mmdrop', mm: 0 });
    expect(abstractView(s).slots[0]).toMatchObject({ state: 'freed', pasid: null });
    expect(abstractView(s).pasids).toEqual([]);
  });

  test('a fork child has no PASID but copies the pages with their tokens', () => {
    const s = initSpec(defaultTopology('vtd'));
    run(s, spawn(0));
    run(s, { kind: 'mmap', mm: 0, first: 0, count: 2, prot: 'rw' });
    run(s, { kind: 'touch', mm: 0, page: 1, write: false });
    run(s, bind(0, 0));
    expect(run(s, { kind: 'fork', mm: 0, child: 1 })).toEqual({ ok: true, value: 1 });
    const child = abstractView(s).slots[1]!;
    expect(child).toMatchObject({ state: 'live', gen: 1, pasid: null });
    expect(child.pages).toEqual(abstractView(s).slots[0]!.pages);
    expect(precondition(s, dma(0, 1, 1))).toBe(false);
    expect(run(s, bind(0, 1))).toEqual({ ok: true, value: 2 });
    // the child's own population counter is its slot's, from 0
    run(s, { kind: 'touch', mm: 1, page: 0, write: true });
    expect(abstractView(s).slots[1]!.pages[0]!.token).toBe(userToken(1, 0, 1));
  });

  test('population counters survive slot reuse', () => {
    const s = initSpec(defaultTopology('vtd'));
    run(s, spawn(0));
    run(s, { kind: 'mmap', mm: 0, first: 0, count: 1, prot: 'r' });
    run(s, { kind: 'touch', mm: 0, page: 0, write: false });
    run(s, { kind: 'exit', mm: 0 });
    run(s, { kind: 'mmdrop', mm: 0 });
    run(s, spawn(0));
    run(s, { kind: 'mmap', mm: 0, first: 0, count: 1, prot: 'r' });
    run(s, { kind: 'touch', mm: 0, page: 0, write: false });
    expect(abstractView(s).slots[0]).toMatchObject({ gen: 2, pages: [{ page: 0, vma: 'r', pte: 'r', token: userToken(0, 0, 2) }] });
  });
});
