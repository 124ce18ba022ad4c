/**
 * A seeded stream of legal commands (the spec's precondition filters random candidates), for
 * the refinement property test and scripts/bench-invariants-lifecycle.ts. No vitest import,
 * so scripts can use it under tsx.
 */
import { FAIL_NTH_MAX, IOVA_PAGES, MAX_HWPTS, failSitesOf, type Command, type Topology } from '../../src/shared/index.js';
import { precondition, type SpecState } from '../../src/spec/index.js';

/** A small deterministic PRNG (mulberry32). */
export const rng = (seed: number): (() => number) => {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

const KINDS: readonly [Command['kind'], number][] = [
  ['bind', 6], ['unbind', 4], ['mmap', 3], ['touch', 5], ['munmap', 2], ['mprotect', 2], ['dma', 5], ['prefetch', 1],
  ['exit', 1], ['mmdrop', 2], ['fork', 1], ['spawn', 3], ['gracePeriod', 2], ['vmalloc', 1], ['vfree', 1], ['failNext', 1], ['failNth', 1],
  ['attachPasid', 2], ['detachPasid', 1], ['iommuMap', 2], ['iommuUnmap', 1], ['dmaIova', 3], ['migrate', 2], ['replacePasid', 2], ['destroyHwpt', 1],
];
const TOTAL = KINDS.reduce((n, [, w]) => n + w, 0);

function candidate(t: Topology, r: () => number): Command {
  const int = (n: number): number => Math.floor(r() * n);
  let x = r() * TOTAL;
  let kind: Command['kind'] = 'gracePeriod';
  for (const [k, w] of KINDS) {
    if ((x -= w) < 0) {
      kind = k;
      break;
    }
  }
  const dev = int(t.devices.length);
  const mm = int(t.mms);
  const page = int(t.pages);
  const count = 1 + int(3);
  const prot = r() < 0.5 ? ('r' as const) : ('rw' as const);
  switch (kind) {
    case 'bind': case 'unbind': return { kind, dev, mm };
    case 'mmap': return { kind, mm, first: page, count, prot };
    case 'touch': return { kind, mm, page, write: r() < 0.5 };
    case 'munmap': return { kind, mm, first: page, count };
    case 'mprotect': return { kind, mm, page, prot: r() < 0.2 ? 'none' : prot };
    case 'dma': return { kind, dev, mm, page, write: r() < 0.5 };
    case 'prefetch': return { kind, dev, mm, page };
    case 'prefetchKernel': return { kind, dev, mm, kpage: int(Math.max(1, t.kpages)) };
    case 'unplug': return { kind, dev };
    case 'prg': return { kind, dev, mm, page, count: 1 + int(2), write: r() < 0.5, rid: r() < 0.3, last: r() < 0.8 };
    case 'exit': case 'mmdrop': case 'spawn': return { kind, mm };
    case 'fork': return { kind, mm, child: int(t.mms) };
    case 'gracePeriod': case 'serviceFaults': return { kind };
    case 'vmalloc': case 'vfree': return { kind, kpage: int(Math.max(1, t.kpages)) };
    case 'failNext': {
      const sites = failSitesOf(t.platform);
      return { kind, site: sites[int(sites.length)]! };
    }
    case 'failNth': return { kind, n: 1 + int(FAIL_NTH_MAX) };
    case 'attachPasid': return { kind, dev, hwpt: int(MAX_HWPTS), pasid: 1 + int(7) };
    case 'detachPasid': return { kind, dev, hwpt: int(MAX_HWPTS) };
    case 'iommuMap': return { kind, hwpt: int(MAX_HWPTS), page: int(IOVA_PAGES), write: r() < 0.5 };
    case 'iommuUnmap': return { kind, hwpt: int(MAX_HWPTS), page: int(IOVA_PAGES) };
    case 'dmaIova': return { kind, dev, hwpt: int(MAX_HWPTS), page: int(IOVA_PAGES), write: r() < 0.5 };
    case 'migrate': return { kind, mm, page };
    case 'replacePasid': return { kind, dev, hwpt: int(MAX_HWPTS), from: int(MAX_HWPTS) };
    case 'dmaPasid': return { kind, dev, pasid: 1 + int(8), page, write: r() < 0.5 };
    case 'stopMarker': return { kind, dev, mm };
    case 'guestMap': return { kind, page: int(IOVA_PAGES), gpa: int(IOVA_PAGES), write: r() < 0.5 };
    case 'guestUnmap': return { kind, page: int(IOVA_PAGES) };
    case 'destroyHwpt': return { kind, hwpt: int(MAX_HWPTS) };
  }
}

/** The next legal command in state `s` (tries random candidates until one is legal). */
export function nextLegal(s: SpecState, r: () => number): Command {
  for (;;) {
    const c = candidate(s.t.topology, r);
    if (precondition(s, c)) return c;
  }
}
