/**
 * The architecture's TLB-flush paths that reach mmu_notifier_arch_invalidate_secondary_tlbs
 * (v6.6+: the secondary-TLB hook is called from the arch flush, not from the mm code). The
 * platform picks the CPU: VT-d sits in x86 machines, SMMUv3 in arm64 ones.
 */
import type { Topology } from '../../../shared/index.js';
import type { MmuGather } from '../mmuGather.js';
import type { MmStruct } from '../types.js';
import { makeArm64 } from './arm64.js';
import { makeX86 } from './x86.js';

export interface Arch {
  readonly name: 'x86' | 'arm64';
  /** PAGE_OFFSET: where the direct map starts; the kernel page-table free path flushes from it. */
  readonly pageOffset: bigint;
  /** asm/tlb.h: tlb_flush(tlb), called by tlb_flush_mmu_tlbonly once something was cleared. */
  tlb_flush(tlb: MmuGather): void;
  /** flush_tlb_mm(mm): the whole address space, (0, ULONG_MAX) for secondary TLBs. */
  flush_tlb_mm(mm: MmStruct): void;
  /** The flush (if any) after a write fault made a present read-only PTE writable. */
  flush_tlb_upgrade(mm: MmStruct, vpn: number): void;
}

export const archFor = (topology: Topology, cpuTlbRange: boolean): Arch =>
  topology.platform === 'vtd' ? makeX86(topology.ptLevels) : makeArm64(topology.ptLevels, cpuTlbRange);
