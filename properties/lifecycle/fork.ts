/**
 * I13 Fork: the child of a fork starts with no iommu_mm (so no PASID) and no mmu notifiers.
 * dup_mm copies the parent's mm_struct with memcpy; mm_init → mm_pasid_init and
 * mmu_notifier_subscriptions_init clear what must not be shared (B03 was the PASID MSR copy).
 */
import type { CheckContext, Invariant, Violation } from '../invariant.js';
import { Findings, NO_VIOLATIONS } from './scan.js';

const findings = new Findings('I13');

function check({ world, cmd, actual }: CheckContext): readonly Violation[] {
  if (cmd.kind !== 'fork' || !actual.ok) return NO_VIOLATIONS;
  const f = findings.begin();
  const child = world.mms[cmd.child];
  const parent = world.mms[cmd.mm];
  if (child === undefined || child === parent) {
    f.add({ mm: cmd.mm, child: cmd.child }, `fork of mm${cmd.mm} left no new mm_struct in slot ${cmd.child}`);
    return f.done();
  }
  if (child.iommu_mm !== undefined) f.add({ mm: cmd.mm, child: cmd.child, pasid: child.iommu_mm.pasid }, `fork child mm${cmd.child} starts with iommu_mm (PASID ${child.iommu_mm.pasid})`);
  if (child.notifiers.length > 0) f.add({ mm: cmd.mm, child: cmd.child }, `fork child mm${cmd.child} starts with ${child.notifiers.length} mmu notifiers`);
  return f.done();
}

export const forkChild: Invariant = {
  id: 'I13',
  title: 'Fork: the child has no iommu_mm, no PASID and no notifiers',
  kernelRule: 'dup_mm → mm_init: mm_pasid_init sets mm->iommu_mm = NULL and the notifier subscriptions start empty, so the child shares nothing SVA with its parent.',
  source: 'kernel/fork.c: dup_mm, mm_init; include/linux/iommu.h: mm_pasid_init (v6.17); dc7507ddce59 (B03)',
  check,
};
