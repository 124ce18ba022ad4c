import { describe, expect, test } from 'vitest';
import { defaultTopology, kernelToken, userToken } from '../../src/shared/index.js';
import { abstractView, initSpec } from '../../src/spec/index.js';
import { bind, dma, run, spawn } from './helpers.js';

const setup = () => {
  const s = initSpec(defaultTopology('vtd'));
  run(s, spawn(0));
  run(s, { kind: 'mmap', mm: 0, first: 0, count: 3, prot: 'rw' });
  run(s, { kind: 'mmap', mm: 0, first: 3, count: 1, prot: 'r' });
  run(s, bind(0, 0));
  return s;
};

describe('the page map and the DMA it allows', () => {
  test('touch faults outside a VMA and on a write to a read-only VMA', () => {
    const s = setup();
    expect(run(s, { kind: 'touch', mm: 0, page: 5, write: false })).toEqual({ ok: false, errno: 'EFAULT' });
    expect(run(s, { kind: 'touch', mm: 0, page: 3, write: true })).toEqual({ ok: false, errno: 'EFAULT' });
    expect(run(s, { kind: 'touch', mm: 0, page: 3, write: false })).toEqual({ ok: true });
  });

  test('a read touch maps read-only, a write touch upgrades the same frame', () => {
    const s = setup();
    run(s, { kind: 'touch', mm: 0, page: 0, write: false });
    expect(run(s, dma(0, 0, 0, true))).toMatchObject({ ok: false, errno: 'EFAULT' });
    expect(run(s, dma(0, 0, 0, false))).toEqual({ ok: true, value: userToken(0, 0, 1) });
    run(s, { kind: 'touch', mm: 0, page: 0, write: true });
    expect(run(s, dma(0, 0, 0, true))).toEqual({ ok: true, value: userToken(0, 0, 1) });
  });

  test('DMA never populates a page and faults for an unbound device', () => {
    const s = setup();
    expect(run(s, dma(0, 0, 1))).toMatchObject({ ok: false, errno: 'EFAULT' });
    expect(abstractView(s).slots[0]!.pages.find((p) => p.page === 1)!.pte).toBeNull();
    run(s, { kind: 'touch', mm: 0, page: 1, write: false });
    expect(run(s, dma(2, 0, 1))).toMatchObject({ ok: false, errno: 'EFAULT' });
  });

  test('munmap drops pages and a re-touch gives a new incarnation token', () => {
    const s = setup();
    run(s, { kind: 'touch', mm: 0, page: 2, write: true });
    run(s, { kind: 'munmap', mm: 0, first: 2, count: 3 });
    expect(run(s, dma(0, 0, 2))).toMatchObject({ ok: false, errno: 'EFAULT' });
    run(s, { kind: 'mmap', mm: 0, first: 2, count: 1, prot: 'rw' });
    run(s, { kind: 'touch', mm: 0, page: 2, write: false });
    expect(run(s, dma(0, 0, 2))).toEqual({ ok: true, value: userToken(0, 2, 2) });
  });

  test('mprotect none keeps the frame but denies access, and rw restores it writable', () => {
    const s = setup();
    run(s, { kind: 'touch', mm: 0, page: 1, write: true });
    run(s, { kind: 'mprotect', mm: 0, page: 1, prot: 'none' });
    expect(run(s, dma(0, 0, 1))).toMatchObject({ ok: false, errno: 'EFAULT' });
    expect(run(s, { kind: 'touch', mm: 0, page: 1, write: false })).toEqual({ ok: false, errno: 'EFAULT' });
    run(s, { kind: 'mprotect', mm: 0, page: 1, prot: 'r' });
    expect(run(s, dma(0, 0, 1, true))).toMatchObject({ ok: false, errno: 'EFAULT' });
    run(s, { kind: 'mprotect', mm: 0, page: 1, prot: 'rw' });
    expect(run(s, dma(0, 0, 1, true))).toEqual({ ok: true, value: userToken(0, 1, 1) });
  });

  test('vmalloc gives each mapping a fresh kernel token', () => {
    const s = setup();
    run(s, { kind: 'vmalloc', kpage: 1 });
    run(s, { kind: 'vfree', kpage: 1 });
    run(s, { kind: 'vmalloc', kpage: 1 });
    expect(abstractView(s).kpages).toEqual([{ kpage: 1, token: kernelToken(1, 2) }]);
  });
});
