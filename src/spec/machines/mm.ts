/**
 * The mm slot lifecycle: which mm_struct (if any) a harness slot holds and which references
 * keep it. kernel/fork.c (v6.17): mm_init/dup_mm create it, __mmput (last mm_users) runs
 * exit_mmap, and __mmdrop runs when mm_count reaches 0. SVA pins mm_count through each
 * domain (iommu_sva_domain_alloc: mmgrab) and each mmu_notifier until its SRCU free
 * (mm/mmu_notifier.c: mmu_notifier_put → mmu_notifier_free_rcu → mmdrop).
 */
import { setup } from 'xstate';
import type { PlainImpl } from './plain.js';
import { xGuard } from './plain.js';

export type MmState = 'unborn' | 'live' | 'exited' | 'dropped' | 'freed';
export const MM_STATES: readonly MmState[] = ['unborn', 'live', 'exited', 'dropped', 'freed'];

export type MmContext = Record<string, never>;
export type MmEvent =
  | { readonly type: 'spawn' }
  | { readonly type: 'fork' }
  | { readonly type: 'exit' }
  /** pinned: an SVA domain or a notifier awaiting its grace period still holds mm_count. */
  | { readonly type: 'mmdrop'; readonly pinned: boolean }
  /** The last SVA pin went (a free_notifier ran after a grace period; AMD: the last domain free). */
  | { readonly type: 'unpin' };

export const mmImpl: PlainImpl<MmContext, MmEvent> = {
  initialContext: () => ({}),
  guards: {
    'SVA still pins mm_count': (_c, e) => e.type === 'mmdrop' && e.pinned,
  },
  actions: {},
};

export const mmMachine = setup({
  types: { context: {} as MmContext, events: {} as MmEvent },
  guards: { 'SVA still pins mm_count': xGuard(mmImpl.guards['SVA still pins mm_count']!) },
}).createMachine({
  id: 'mm',
  initial: 'unborn',
  context: {},
  states: {
    unborn: {
      on: {
        spawn: { target: 'live', description: 'A process starts in the slot: mm_init gives a fresh mm_struct with iommu_mm NULL.' },
        fork: { target: 'live', description: 'dup_mm copies the parent into this slot; mm_pasid_init clears iommu_mm.' },
      },
    },
    live: {
      on: {
        exit: { target: 'exited', description: 'Last mmput: exit_mmap runs the notifiers\' release and frees pages and tables.' },
      },
    },
    exited: {
      on: {
        mmdrop: [
          { guard: 'SVA still pins mm_count', target: 'dropped', description: 'The process drops its mm_count ref; SVA domains or pending notifiers still hold theirs.' },
          { target: 'freed', description: 'The process drops the last mm_count ref: __mmdrop → mm_pasid_drop frees the PASID.' },
        ],
      },
    },
    dropped: {
      on: {
        unpin: { target: 'freed', description: 'The last SVA pin goes (free_notifier after a grace period; on AMD the last domain free, mmu_notifier_unregister): __mmdrop runs.' },
      },
    },
    freed: {
      on: {
        spawn: { target: 'live', description: 'The free slot is reused by a new process.' },
        fork: { target: 'live', description: 'The free slot is reused by a fork child.' },
      },
    },
  },
});
