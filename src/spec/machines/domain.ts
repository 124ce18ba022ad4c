/**
 * One SVA domain object of an mm. drivers/iommu/iommu-sva.c (v6.17): allocated by
 * iommu_sva_domain_alloc when no existing domain of the mm attaches, users = attached groups,
 * freed (iommu_domain_free) when users drops to 0 or when its first attach fails. Which domains
 * exist follows the platform: VT-d one per mm (intel/svm.c attaches behind any IOMMU), SMMUv3
 * one per (mm, SMMU) (arm_smmu_set_pasid: -EINVAL on another SMMU), AMD one per mm
 * (amd/pasid.c iommu_sva_set_dev_pasid flushes through each attachment's own device, so any
 * IOMMU takes the domain). AMD also refuses a replacement (set_dev_pasid with an old domain:
 * -EOPNOTSUPP), which the SVA core never asks for: observable only through iommufd.
 */
import { setup } from 'xstate';
import type { PlainImpl } from './plain.js';
import { xAssign, xGuard } from './plain.js';

export type DomainState = 'absent' | 'attached' | 'freed';
export interface DomainContext {
  users: number;
}
export type DomainEvent =
  | { readonly type: 'alloc' }
  | { readonly type: 'discard' }
  | { readonly type: 'attach' }
  | { readonly type: 'detach' };

export const domainImpl: PlainImpl<DomainContext, DomainEvent> = {
  initialContext: () => ({ users: 0 }),
  guards: {
    'other users remain': (c) => c.users > 1,
  },
  actions: {
    'add a user': (c) => {
      c.users += 1;
    },
    'remove a user': (c) => {
      c.users -= 1;
    },
  },
};

export const domainMachine = setup({
  types: { context: {} as DomainContext, events: {} as DomainEvent },
  guards: { 'other users remain': xGuard(domainImpl.guards['other users remain']!) },
  actions: {
    'add a user': xAssign(domainImpl.actions['add a user']!),
    'remove a user': xAssign(domainImpl.actions['remove a user']!),
  },
}).createMachine({
  id: 'domain',
  initial: 'absent',
  context: { users: 0 },
  states: {
    absent: {
      on: {
        alloc: { target: 'attached', actions: 'add a user', description: 'domain_alloc_sva, then iommu_attach_device_pasid succeeds: users = 1, list_add to sva_domains.' },
        discard: { target: 'freed', description: 'The new domain\'s first attach fails: iommu_domain_free (VT-d, SMMUv3: the notifier still awaits its grace period; AMD unregisters it at once).' },
      },
    },
    attached: {
      on: {
        attach: { actions: 'add a user', description: 'Another group attaches to this existing domain: domain->users++.' },
        detach: [
          { guard: 'other users remain', actions: 'remove a user', description: 'A group\'s last unbind detaches: --domain->users stays above 0.' },
          { target: 'freed', actions: 'remove a user', description: '--domain->users reaches 0: list_del, iommu_domain_free.' },
        ],
      },
    },
    freed: { type: 'final' },
  },
});
