/**
 * Command constructors for hand-written test sequences, one per kind the tests spell out by
 * hand: `run(spawn(0), bind(1, 0), dma(1, 0, 2))`. Defaults are the common case (a read-write
 * mapping, a write touch, a read DMA).
 */
import type { Command } from '../src/shared/index.js';

export const spawn = (mm: number): Command => ({ kind: 'spawn', mm });
export const bind = (dev: number, mm: number): Command => ({ kind: 'bind', dev, mm });
export const unbind = (dev: number, mm: number): Command => ({ kind: 'unbind', dev, mm });
export const mmap = (mm: number, first: number, count: number, prot: 'r' | 'rw' = 'rw'): Command => ({ kind: 'mmap', mm, first, count, prot });
export const touch = (mm: number, page: number, write = true): Command => ({ kind: 'touch', mm, page, write });
export const munmap = (mm: number, first: number, count: number): Command => ({ kind: 'munmap', mm, first, count });
export const mprotect = (mm: number, page: number, prot: 'none' | 'r' | 'rw'): Command => ({ kind: 'mprotect', mm, page, prot });
export const dma = (dev: number, mm: number, page: number, write = false): Command => ({ kind: 'dma', dev, mm, page, write });
export const exit = (mm: number): Command => ({ kind: 'exit', mm });
export const mmdrop = (mm: number): Command => ({ kind: 'mmdrop', mm });
export const fork = (mm: number, child: number): Command => ({ kind: 'fork', mm, child });
export const grace: Command = { kind: 'gracePeriod' };
export const vmalloc = (kpage: number): Command => ({ kind: 'vmalloc', kpage });
