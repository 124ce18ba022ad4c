import { describe, expect, test } from 'vitest';
import { ATTACH_PASIDS, DMA_PASIDS, enabledOfKind, possibleKind, unpluggable } from '../../src/harness/enabled.js';
import { checkedStep, openSession } from '../../src/harness/index.js';
import { COMMAND_KINDS, FAIL_NTH_MAX, FAIL_SITES, IOVA_PAGES, MAX_HWPTS, PRG_MAX_REQUESTS, defaultTopology, failSitesOf } from '../../src/shared/index.js';
import type { Command, CommandKind, Topology } from '../../src/shared/index.js';
import { MM, precondition } from '../../src/spec/index.js';
import type { SpecState } from '../../src/spec/index.js';
import { Rng } from '../../models/rng.js';

/** Every command of `kind` with arguments in the topology's ranges (the whole domain). */
const domain = (t: Topology, kind: CommandKind): Command[] => {
  const ids = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
  const D = ids(t.devices.length), M = ids(t.mms), P = ids(t.pages), K = ids(t.kpages), B = [false, true];
  // PASIDs: the whole range up to a 4-bit IOMMU's (the generation policy picks among them), HWPTs, IOVA pages.
  const H = ids(MAX_HWPTS), I = ids(IOVA_PAGES), S = ids(17);
  const out: Command[] = [];
  switch (kind) {
    case 'bind': case 'unbind': for (const dev of D) for (const mm of M) out.push({ kind, dev, mm }); break;
    case 'mmap': for (const mm of M) for (const first of P) for (let count = 1; first + count <= t.pages; count++) for (const prot of ['rw', 'r'] as const) out.push({ kind, mm, first, count, prot }); break;
    case 'touch': for (const mm of M) for (const page of P) for (const write of B) out.push({ kind, mm, page, write }); break;
    case 'munmap': for (const mm of M) for (const first of P) for (let count = 1; first + count <= t.pages; count++) out.push({ kind, mm, first, count }); break;
    case 'mprotect': for (const mm of M) for (const page of P) for (const prot of ['none', 'r', 'rw'] as const) out.push({ kind, mm, page, prot }); break;
    case 'dma': for (const dev of D) for (const mm of M) for (const page of P) for (const write of B) out.push({ kind, dev, mm, page, write }); break;
    case 'prefetch': for (const dev of D) for (const mm of M) for (const page of P) out.push({ kind, dev, mm, page }); break;
    case 'prefetchKernel': for (const dev of D) for (const mm of M) for (const kpage of K) out.push({ kind, dev, mm, kpage }); break;
    case 'unplug': for (const dev of D) out.push({ kind, dev }); break;
    case 'exit': case 'mmdrop': case 'spawn': for (const mm of M) out.push({ kind, mm }); break;
    case 'fork': for (const mm of M) for (const child of M) out.push({ kind, mm, child }); break;
    case 'gracePeriod': case 'serviceFaults': out.push({ kind }); break;
    case 'vmalloc': case 'vfree': for (const kpage of K) out.push({ kind, kpage }); break;
    case 'failNext': for (const site of FAIL_SITES) out.push({ kind, site }); break;
    // Up to one past the generators' bound, so the bound itself is checked.
    case 'failNth': for (let n = 0; n <= FAIL_NTH_MAX + 1; n++) out.push({ kind, n }); break;
    case 'prg':
      for (const dev of D) for (const mm of M) for (const page of P) for (let count = 1; count <= PRG_MAX_REQUESTS + 1; count++) {
        for (const write of B) for (const rid of B) for (const last of B) out.push({ kind, dev, mm, page, count, write, rid, last });
      }
      break;
    case 'migrate': for (const mm of M) for (const page of P) out.push({ kind, mm, page }); break;
    case 'stopMarker': for (const dev of D) for (const mm of M) out.push({ kind, dev, mm }); break;
    case 'attachPasid': for (const dev of D) for (const hwpt of H) for (const pasid of S) out.push({ kind, dev, hwpt, pasid }); break;
    case 'replacePasid': for (const dev of D) for (const hwpt of H) for (const from of H) out.push({ kind, dev, hwpt, from }); break;
    case 'detachPasid': for (const dev of D) for (const hwpt of H) out.push({ kind, dev, hwpt }); break;
    case 'iommuMap': for (const hwpt of H) for (const page of I) for (const write of B) out.push({ kind, hwpt, page, write }); break;
    case 'iommuUnmap': for (const hwpt of H) for (const page of I) out.push({ kind, hwpt, page }); break;
    case 'dmaIova': for (const dev of D) for (const hwpt of H) for (const page of I) for (const write of B) out.push({ kind, dev, hwpt, page, write }); break;
    case 'guestMap': for (const page of I) for (const gpa of I) for (const write of B) out.push({ kind, page, gpa, write }); break;
    case 'guestUnmap': for (const page of I) out.push({ kind, page }); break;
    case 'destroyHwpt': for (const hwpt of H) out.push({ kind, hwpt }); break;
    case 'dmaPasid': for (const dev of D) for (const pasid of S) for (const page of P) for (const write of B) out.push({ kind, dev, pasid, page, write }); break;
    default: { const never: never = kind; throw new Error(String(never)); }
  }
  return out;
};

const key = (c: Command): string => JSON.stringify(c, Object.keys(c).sort());

/** The generation policy on top of the preconditions: which devices unplug; a RID group names mm 0. */
/** A LAST page request of a PASID queued, or a PRI endpoint (PRI not failed) bound to a live mm. */
const groupAllocNear = (t: Topology, s: SpecState): boolean =>
  s.prq.some((r) => r.last && r.slot >= 0) ||
  t.devices.some((d, dev) => d.pri && s.unplugged[dev] === 0 && s.priFailed[dev] === 0 &&
    s.slots.some((sl, mm) => sl.mm.state === MM.live && s.bonds[dev * t.mms + mm]!.ctx.n > 0));

const generatable = (t: Topology, s: SpecState, c: Command): boolean =>
  precondition(s, c) && (c.kind !== 'unplug' || unpluggable(t).includes(c.dev)) && (c.kind !== 'prg' || !c.rid || c.mm === 0) &&
  (c.kind !== 'attachPasid' || c.pasid === 0 || ATTACH_PASIDS.includes(c.pasid)) && (c.kind !== 'dmaPasid' || DMA_PASIDS.includes(c.pasid)) &&
  (c.kind !== 'failNext' || (failSitesOf(t.platform).includes(c.site) && (c.site !== 'kzalloc@iopf_group_alloc' || groupAllocNear(t, s)))) &&
  (c.kind !== 'failNth' || c.n <= FAIL_NTH_MAX);

/** Random legal walks (drawn from the brute-force domain); `visit` sees every state on the way. */
const walk = (t: Topology, walks: number, length: number, visit: (s: SpecState) => void): number => {
  const rng = new Rng(7);
  let visited = 0;
  for (let w = 0; w < walks; w++) {
    const s = openSession(t);
    for (let n = 0; n < length; n++) {
      visit(s.spec);
      visited++;
      const legal = COMMAND_KINDS.flatMap((k) => domain(t, k)).filter((c) => generatable(t, s.spec, c));
      if (legal.length === 0 || checkedStep(s, rng.pick(legal)).length > 0) break;
    }
  }
  return visited;
};

describe('Enabled commands', () => {
  for (const platform of ['vtd', 'smmuv3', 'amd'] as const) {
    test(`on ${platform}, each kind's enumeration is exactly the domain filtered by the precondition (and the unplug policy)`, () => {
      const t = defaultTopology(platform);
      const visited = walk(t, 8, 40, (s) => {
        for (const kind of COMMAND_KINDS) {
          // A kind the topology rules out is never drawn (possibleKind), whatever it enumerates.
          if (!possibleKind(kind, t)) continue;
          const want = domain(t, kind).filter((c) => generatable(t, s, c)).map(key).sort();
          expect(enabledOfKind(s, kind).map(key).sort()).toEqual(want);
        }
      });
      expect(visited).toBeGreaterThan(200);
    });
  }

  test('failNext offers the IOPF group allocation only while a fault thread will reach it: a LAST queued, or a PRI endpoint bound to a live mm', () => {
    const base = defaultTopology('vtd');
    const t: Topology = { ...base, devices: base.devices.map((d, i) => (i === 0 ? { ...d, pri: true } : d)) };
    const s = openSession(t);
    const offered = (): boolean => enabledOfKind(s.spec, 'failNext').some((c) => c.kind === 'failNext' && c.site === 'kzalloc@iopf_group_alloc');
    const step = (c: Command): void => expect(checkedStep(s, c)).toEqual([]);
    step({ kind: 'spawn', mm: 0 });
    step({ kind: 'mmap', mm: 0, first: 0, count: 2, prot: 'rw' });
    expect(offered()).toBe(false);
    step({ kind: 'bind', dev: 0, mm: 0 });
    expect(offered()).toBe(true);
    // The miss's LAST stays queued past the exit (mm release does not drain the PRQ).
    step({ kind: 'dma', dev: 0, mm: 0, page: 1, write: false });
    step({ kind: 'exit', mm: 0 });
    expect(offered()).toBe(true);
    step({ kind: 'serviceFaults' });
    expect(offered()).toBe(false);
  });

  test('SMMUv3 never unplugs (the fixed v6.17 unbind path times out on a removed master); VT-d unplugs lone non-PRI devices', () => {
    expect(unpluggable(defaultTopology('smmuv3'))).toEqual([]);
    expect(unpluggable(defaultTopology('vtd'))).toEqual([0, 1, 2, 3]);
  });
});
