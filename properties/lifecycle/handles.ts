/**
 * I4 Handles: a (group, PASID) has at most one attach handle, shared by every bind of the
 * group's devices to that mm (iommu_attach_handle_get + refcount_inc, restored by 65d4418c5002
 * after B08); its users equal the binds the callers still hold, and it stays installed until
 * the last of them is undone (only the last unbind detaches).
 */
import type { IommuSva } from '../../src/impl/index.js';
import type { CheckContext, Invariant, Violation } from '../invariant.js';
import { Findings } from './scan.js';

const findings = new Findings('I4');

/**
 * Handles met in pasid_array during one check (rewound each time; checks never nest). An array
 * rather than a Set: a handful of handles per world, and Set.clear() reallocates its table,
 * which was most of this check's cost.
 */
const seen: IommuSva[] = [];

function check({ world }: CheckContext): readonly Violation[] {
  const f = findings.begin();
  const { fds, mms } = world;
  seen.length = 0;
  for (const g of world.groups) {
    for (const [pasid, e] of g.pasid_array) {
      if (e.kind !== 'handle') continue;
      const h = e.handle;
      if (seen.includes(h)) f.add({ group: g.id, pasid, handle: h.id }, `handle ${h.id} is installed at two (group, PASID) slots`);
      seen.push(h);
      if (h.dev === undefined || h.dev.group !== g) f.add({ group: g.id, pasid, handle: h.id }, `handle ${h.id} at group ${g.id} names dev${h.dev?.id ?? '?'} of another group`);
      const slot = h.domain.mm?.slot;
      let binds = 0;
      if (slot !== undefined) {
        for (const d of g.devices) {
          const fd = fds[slot]?.[d.id];
          if (fd !== undefined && fd.handle === h) binds += fd.binds;
        }
      }
      if (h.users < 1 || h.users !== binds) f.add({ group: g.id, pasid, handle: h.id }, `handle ${h.id} has users ${h.users}, but callers hold ${binds} binds`);
    }
  }
  for (let slot = 0; slot < fds.length; slot++) {
    const row = fds[slot]!;
    for (let dev = 0; dev < row.length; dev++) {
      const fd = row[dev];
      if (fd === undefined) continue;
      const h = fd.handle;
      const pasid = mms[slot]?.iommu_mm?.pasid;
      const e = pasid === undefined ? undefined : world.devices[dev]!.group.pasid_array.get(pasid);
      if (e === undefined || e.kind !== 'handle' || e.handle !== h) {
        f.add({ dev, mm: slot, handle: h.id }, `dev${dev}–mm${slot} holds ${fd.binds} binds on handle ${h.id}, which is not installed at PASID ${pasid ?? '?'}`);
      }
    }
  }
  seen.length = 0;
  return f.done();
}

export const handles: Invariant = {
  id: 'I4',
  title: 'Handles: one per (group, PASID), users = binds held, detached only by the last unbind',
  kernelRule:
    'n binds of devices of one group to an mm return the same iommu_sva with users == n; only the unbind that drops users to 0 detaches the PASID.',
  source: 'drivers/iommu/iommu-sva.c: iommu_sva_bind_device, iommu_sva_unbind_device; iommu.c: iommu_attach_handle_get (v6.17); 65d4418c5002 (B08)',
  check,
};
