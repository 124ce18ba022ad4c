import type { TraceSink } from '../../shared/index.js';
import type { Counters } from '../counters.js';
import type { FaultReason, Translation } from '../iommu.js';
import { PTE_P, PTE_U, PTE_W, pteFrame, type PhysMem } from '../mem.js';
import { levelIndex, levelPrefix } from '../radix.js';
import type { CachedTranslation, Iotlb } from './iotlb.js';
import type { PasidEntry } from './pasidTable.js';
import { PSC_U, PSC_W, pscFlags, pscFrame, pscPack, type PagingStructureCache } from './psc.js';

/** Faults are constants: a faulting DMA allocates nothing. */
export const FAULTS: { readonly [R in FaultReason]: Translation } = {
  'no-pasid-entry': { ok: false, fault: 'no-pasid-entry' },
  'fault-disabled': { ok: false, fault: 'fault-disabled' },
  'not-present': { ok: false, fault: 'not-present' },
  'no-permission': { ok: false, fault: 'no-permission' },
  'stream-abort': { ok: false, fault: 'stream-abort' },
  'no-pasid-cap': { ok: false, fault: 'no-pasid-cap' },
};

export interface WalkCaches {
  readonly iotlb: Iotlb;
  readonly psc: PagingStructureCache;
  readonly mem: PhysMem;
  readonly counters: Counters;
  readonly name: string;
  /** Set when a timeline is recorded: every cache fill becomes an event. */
  readonly trace?: TraceSink | undefined;
}

/**
 * First-level translation of a user (supervisor-request-disabled) DMA through a present FL
 * PASID entry: IOTLB, then the deepest paging-structure-cache hit, then a walk of the rest with
 * the hardware's own reads (mem.hwEntry: a freed table is still read, and logged).
 *
 * Every non-leaf entry read fills the PSC, even when the walk then faults: a user access to a
 * supervisor leaf (or through a supervisor non-leaf, like the kernel half's top entry) faults
 * with no-permission but leaves the upper levels cached. The IOTLB is filled only for a leaf
 * that permits the access.
 *
 * A cached IOTLB entry that lacks write permission for a write is dropped and the walk redone,
 * rather than faulting. IA-32 paging, which first-level translation follows, lets a CPU fault
 * spuriously on such a stale entry because the OS handler retries; a DMA cannot retry, and
 * Linux never invalidates secondary TLBs on a permission upgrade (a write fault that sets
 * PTE_W), so hardware that faulted here would break every correct SVA kernel. A re-walk is
 * also what PCIe ATS requires of the ATC (device.ts), and keeps a missing flush on a downgrade
 * observable: a cached writable entry is still used as-is.
 */
export const firstLevelTranslate = (
  c: WalkCaches, entry: Pick<PasidEntry, 'did' | 'flptr' | 'levels'>, pasid: number, vpn: number, write: boolean,
): Translation => {
  const did = entry.did;
  const hit = c.iotlb.lookup(did, pasid, vpn);
  if (hit !== undefined) {
    if (hit.write || !write) {
      c.counters.bump('iotlb.hit');
      return hit;
    }
    c.counters.bump('iotlb.rewalk');
    c.iotlb.drop(did, pasid, vpn);
  } else {
    c.counters.bump('iotlb.miss');
  }

  let level: number = entry.levels;
  let table = entry.flptr;
  let flags = PSC_W | PSC_U;
  const cached = c.psc.deepest(did, pasid, vpn, entry.levels - 1);
  if (cached !== undefined) {
    c.counters.bump('psc.hit');
    level = cached.level;
    table = pscFrame(cached.packed);
    flags = pscFlags(cached.packed);
  } else {
    c.counters.bump('psc.miss');
  }

  for (; level > 1; level--) {
    const e = c.mem.hwEntry(table, levelIndex(vpn, level), c.name);
    if ((e & PTE_P) === 0) return FAULTS['not-present'];
    flags &= ((e & PTE_W) !== 0 ? PSC_W : 0) | ((e & PTE_U) !== 0 ? PSC_U : 0);
    table = pteFrame(e);
    c.psc.fill(did, pasid, vpn, level - 1, pscPack(table, flags));
    if (c.trace) {
      c.trace.event('cache', c.name, `PSC fill DID ${did} PASID ${pasid} level ${level - 1} prefix 0x${levelPrefix(vpn, level - 1).toString(16)} → table ${table}`);
    }
  }
  const leaf = c.mem.hwEntry(table, levelIndex(vpn, 1), c.name);
  if ((leaf & PTE_P) === 0) return FAULTS['not-present'];
  if ((leaf & PTE_U) === 0 || (flags & PSC_U) === 0) return FAULTS['no-permission'];
  const writable = (leaf & PTE_W) !== 0 && (flags & PSC_W) !== 0;
  if (write && !writable) return FAULTS['no-permission'];
  const t: CachedTranslation = { ok: true, frame: pteFrame(leaf), write: writable };
  c.iotlb.fill(did, pasid, vpn, t);
  if (c.trace) c.trace.event('cache', c.name, `IOTLB fill DID ${did} PASID ${pasid} vpn 0x${vpn.toString(16)} → frame ${t.frame}${t.write ? ' rw' : ' r'}`);
  return t;
};

/**
 * Second-stage-only translation (PGTT = SL) of a request with PASID: the IOTLB by DID alone,
 * then a walk of the domain's IOVA table from SLPTPTR. Read permission is the present bit,
 * write the W bit; there is no user/supervisor distinction at the second stage. The walk
 * fills no paging-structure cache here: the emulated PSC holds first-level entries only, so a
 * stale second-stage walk pointer is out of reach (a known limit of the model).
 */
export const secondLevelTranslate = (c: WalkCaches, entry: PasidEntry, vpn: number, write: boolean): Translation => {
  const did = entry.did;
  const hit = c.iotlb.slLookup(did, vpn);
  if (hit !== undefined) {
    if (hit.write || !write) {
      c.counters.bump('iotlb.hit');
      return hit;
    }
    c.counters.bump('iotlb.rewalk');
    c.iotlb.slDrop(did, vpn);
  } else {
    c.counters.bump('iotlb.miss');
  }
  let table = entry.slptr;
  for (let level: number = entry.levels; level > 1; level--) {
    const e = c.mem.hwEntry(table, levelIndex(vpn, level), c.name);
    if ((e & PTE_P) === 0) return FAULTS['not-present'];
    table = pteFrame(e);
  }
  const leaf = c.mem.hwEntry(table, levelIndex(vpn, 1), c.name);
  if ((leaf & PTE_P) === 0) return FAULTS['not-present'];
  const writable = (leaf & PTE_W) !== 0;
  if (write && !writable) return FAULTS['no-permission'];
  const t: CachedTranslation = { ok: true, frame: pteFrame(leaf), write: writable };
  c.iotlb.slFill(did, vpn, t);
  return t;
};

/**
 * The second-stage walk of one GPA vpn from SLPTPTR, as a nested walk uses it for every
 * first-stage table access and for the output address: the host frame and its W bit, or
 * undefined when the GPA is not mapped. Nothing is cached (no second-stage PSC is modelled).
 */
const stage2 = (c: WalkCaches, entry: PasidEntry, gpa: number): { frame: number; write: boolean } | undefined => {
  let table = entry.slptr;
  for (let level: number = entry.levels; level > 1; level--) {
    const e = c.mem.hwEntry(table, levelIndex(gpa, level), c.name);
    if ((e & PTE_P) === 0) return undefined;
    table = pteFrame(e);
  }
  const leaf = c.mem.hwEntry(table, levelIndex(gpa, 1), c.name);
  return (leaf & PTE_P) === 0 ? undefined : { frame: pteFrame(leaf), write: (leaf & PTE_W) !== 0 };
};

/**
 * Nested translation (PGTT = NESTED, VT-d spec 3.8): the guest's first-stage table from FSPTPTR
 * (a GPA), each table it reads reached through the second stage from SLPTPTR, then the
 * first-stage output (a GPA) translated by the second stage. The combined translation is
 * cached in the IOTLB tagged (DID, PASID); a write needs W at both stages, and a cached
 * read-only entry is re-walked for a write, as a first-level one. No paging-structure cache is
 * filled (a cache may hold less than the spec allows, never more).
 */
export const nestedTranslate = (c: WalkCaches, entry: PasidEntry, pasid: number, vpn: number, write: boolean): Translation => {
  const did = entry.did;
  const hit = c.iotlb.nestedLookup(did, pasid, vpn);
  if (hit !== undefined) {
    if (hit.write || !write) {
      c.counters.bump('iotlb.hit');
      return hit;
    }
    c.counters.bump('iotlb.rewalk');
    c.iotlb.nestedDrop(did, pasid, vpn);
  } else {
    c.counters.bump('iotlb.miss');
  }
  let gpa = entry.flptr;
  let flags = PSC_W | PSC_U;
  for (let level: number = entry.levels; level > 1; level--) {
    const table = stage2(c, entry, gpa);
    if (table === undefined) return FAULTS['not-present'];
    const e = c.mem.hwEntry(table.frame, levelIndex(vpn, level), c.name);
    if ((e & PTE_P) === 0) return FAULTS['not-present'];
    flags &= ((e & PTE_W) !== 0 ? PSC_W : 0) | ((e & PTE_U) !== 0 ? PSC_U : 0);
    gpa = pteFrame(e);
  }
  const last = stage2(c, entry, gpa);
  if (last === undefined) return FAULTS['not-present'];
  const leaf = c.mem.hwEntry(last.frame, levelIndex(vpn, 1), c.name);
  if ((leaf & PTE_P) === 0) return FAULTS['not-present'];
  if ((leaf & PTE_U) === 0 || (flags & PSC_U) === 0) return FAULTS['no-permission'];
  const s1Write = (leaf & PTE_W) !== 0 && (flags & PSC_W) !== 0;
  if (write && !s1Write) return FAULTS['no-permission'];
  const out = stage2(c, entry, pteFrame(leaf));
  if (out === undefined) return FAULTS['not-present'];
  if (write && !out.write) return FAULTS['no-permission'];
  const t: CachedTranslation = { ok: true, frame: out.frame, write: s1Write && out.write };
  c.iotlb.nestedFill(did, pasid, vpn, t);
  if (c.trace) c.trace.event('cache', c.name, `IOTLB fill (nested) DID ${did} PASID ${pasid} vpn 0x${vpn.toString(16)} → frame ${t.frame}${t.write ? ' rw' : ' r'}`);
  return t;
};
