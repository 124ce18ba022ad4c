/**
 * mm/memory.c: zap_pte_range and friends (v6.17), for the harness's pages [first, end) of one
 * VMA: clear each present (or PROT_NONE) PTE, gather its page for freeing after the flush and
 * add it to the flush range (tlb_remove_tlb_entry); a migration entry is only cleared. zap_pmd_range's cond_resched is one
 * preempt point per VMA after its PTEs are cleared: the PTEs are gone, the TLBs (CPU and
 * secondary) not yet flushed and the pages not yet freed until tlb_finish_mmu.
 */
import { pteFrame } from '../../hw/mem.js';
import { userVpn } from '../../shared/index.js';
import { tlb_flush_pte_range, tlb_remove_page, type MmuGather } from './mmuGather.js';
import { is_migration_entry, pte_offset } from './pgtable.js';
import { type Co, type Yield, preempting } from './sched.js';

// sched.ts's preemptPoint, spelled out: this module is evaluated inside the import cycle
// kernel.ts → arch → mmuNotifier.ts → mm.ts → exitMmap.ts, before sched.ts's body has run.
const zapResched: Yield = Object.freeze({ kind: 'preempt', what: 'cond_resched (zap_pmd_range)' });

export function* unmap_page_range(tlb: MmuGather, first: number, end: number): Co {
  const mm = tlb.mm;
  const mem = mm.kernel.mem;
  for (let page = first; page < end; page++) {
    const vpn = userVpn(page);
    const slot = pte_offset(mem, mm.pgd.root, mm.pgd.levels, vpn);
    if (slot === undefined) continue;
    const e = mem.entry(slot.table, slot.index);
    if (e === 0) continue;
    mem.setEntry(slot.table, slot.index, 0);
    // A migration entry (another mm's migrate of a folio a fork shares, met by its rmap walk) is
    // cleared only: it maps nothing a TLB holds, and the migration holds the mapping's reference
    // (zap_pte_range's is_migration_entry branch: rss only, no tlb_remove_page).
    if (is_migration_entry(e)) continue;
    tlb_remove_page(tlb, pteFrame(e));
    tlb_flush_pte_range(tlb, vpn);
  }
  if (preempting(mm.kernel)) yield zapResched;
}
