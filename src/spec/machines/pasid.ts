/**
 * The PASID of one mm_struct. drivers/iommu/iommu-sva.c (v6.17): iommu_alloc_mm_data assigns
 * it on the first bind that gets that far and never rolls it back; mm_pasid_drop (from
 * __mmdrop) frees it. A new mm_struct in the slot starts a new instance at `none`.
 */
import { setup } from 'xstate';
import type { PlainImpl } from './plain.js';
import { xAssign } from './plain.js';

export type PasidState = 'none' | 'assigned' | 'freed';
export interface PasidContext {
  /** The PASID while assigned; 0 (IOMMU_NO_PASID) otherwise. */
  pasid: number;
}
export type PasidEvent = { readonly type: 'assign'; readonly pasid: number } | { readonly type: 'free' };

export const pasidImpl: PlainImpl<PasidContext, PasidEvent> = {
  initialContext: () => ({ pasid: 0 }),
  guards: {},
  actions: {
    'record the PASID': (c, e) => {
      if (e.type === 'assign') c.pasid = e.pasid;
    },
    'forget the PASID': (c) => {
      c.pasid = 0;
    },
  },
};

export const pasidMachine = setup({
  types: { context: {} as PasidContext, events: {} as PasidEvent },
  actions: {
    'record the PASID': xAssign(pasidImpl.actions['record the PASID']!),
    'forget the PASID': xAssign(pasidImpl.actions['forget the PASID']!),
  },
}).createMachine({
  id: 'pasid',
  initial: 'none',
  context: { pasid: 0 },
  states: {
    none: {
      on: {
        assign: { target: 'assigned', actions: 'record the PASID', description: 'iommu_alloc_mm_data: ida_alloc_range(1, max_pasids-1) on the first bind; kept even if the bind then fails.' },
      },
    },
    assigned: {
      on: {
        free: { target: 'freed', actions: 'forget the PASID', description: '__mmdrop → mm_pasid_drop → iommu_free_global_pasid.' },
      },
    },
    freed: { type: 'final' },
  },
});
