/**
 * The bond of one (device, mm slot) as its caller sees it: n = successful binds − unbinds.
 * drivers/iommu/iommu-sva.c (v6.17): a second bind of the same pair shares the handle
 * (refcount_inc), only the last unbind detaches. After exit the bond is defunct: the mm's
 * release cleared the PASID entries (DMA faults) but the caller still owes its unbinds.
 */
import { setup } from 'xstate';
import type { PlainImpl } from './plain.js';
import { xAssign, xGuard } from './plain.js';

export type BondState = 'unbound' | 'bound' | 'defunct';
export interface BondContext {
  n: number;
}
export type BondEvent = { readonly type: 'bind' } | { readonly type: 'unbind' } | { readonly type: 'exit' };

export const bondImpl: PlainImpl<BondContext, BondEvent> = {
  initialContext: () => ({ n: 0 }),
  guards: {
    'other references remain': (c) => c.n > 1,
  },
  actions: {
    'take a reference': (c) => {
      c.n += 1;
    },
    'drop a reference': (c) => {
      c.n -= 1;
    },
  },
};

export const bondMachine = setup({
  types: { context: {} as BondContext, events: {} as BondEvent },
  guards: { 'other references remain': xGuard(bondImpl.guards['other references remain']!) },
  actions: {
    'take a reference': xAssign(bondImpl.actions['take a reference']!),
    'drop a reference': xAssign(bondImpl.actions['drop a reference']!),
  },
}).createMachine({
  id: 'bond',
  initial: 'unbound',
  context: { n: 0 },
  states: {
    unbound: {
      on: {
        bind: { target: 'bound', actions: 'take a reference', description: 'iommu_sva_bind_device succeeds: a new handle, or the group\'s existing one with users++.' },
      },
    },
    bound: {
      on: {
        bind: { actions: 'take a reference', description: 'A second bind of the same pair shares the handle (refcount_inc).' },
        unbind: [
          { guard: 'other references remain', actions: 'drop a reference', description: 'iommu_sva_unbind_device: refcount_dec_and_test is false, nothing detaches.' },
          { target: 'unbound', actions: 'drop a reference', description: 'The last unbind of this caller drops its handle reference.' },
        ],
        exit: { target: 'defunct', description: 'exit_mmap → release: the PASID entries are torn down while still bound; DMA faults.' },
      },
    },
    defunct: {
      on: {
        unbind: [
          { guard: 'other references remain', actions: 'drop a reference', description: 'Unbind after exit: one reference dropped, the bond stays defunct.' },
          { target: 'unbound', actions: 'drop a reference', description: 'The last unbind after exit: the handle reference goes; domain teardown follows.' },
        ],
      },
    },
  },
});
