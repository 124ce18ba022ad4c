/**
 * Where the harness's small page ids live in a 4 KiB-page address space, and how content is
 * named. Addresses are virtual page numbers (vpn = va >> 12) so they stay exact JS numbers;
 * byte addresses appear only in the notifier range API, as bigint (u64 arithmetic).
 */

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1n << 12n;
/** Entries per page-table page (x86 and arm64 4K granule): 9 bits per level. */
export const PT_BITS = 9;
/** `ULONG_MAX`: the end the kernel passes for a whole-mm invalidation. */
export const ULONG_MAX = (1n << 64n) - 1n;

/**
 * User page p sits at USER_BASE_VPN + (p >> 1) * 512 + (p & 1): pairs of pages share a PTE
 * table, and each pair has its own, so unmapping a pair frees a page-table page and a range
 * of several pages spans several tables (and, at 512 pages = 2 MiB, CMDQ_MAX_TLBI_OPS).
 */
export const USER_BASE_VPN = 0x40000; // 1 GiB
export const userVpn = (page: number): number => USER_BASE_VPN + (page >> 1) * 512 + (page & 1);

/**
 * Kernel vmalloc page k: in the upper, shared half. Each kernel page has its own PTE table so
 * that vfree of one page frees a kernel page-table page (the CVE-2025-71202 shape).
 */
export const KERNEL_BASE_VPN = 0xffffc90000000; // 0xffffc90000000000 >> 12
export const kernelVpn = (kpage: number): number => KERNEL_BASE_VPN + kpage * 512;

/** Byte address of a vpn, for the notifier's (start, end) range convention. */
export const vpnToVa = (vpn: number): bigint => BigInt(vpn) << 12n;

/** Largest topology sizes; content tokens are packed with them. */
export const MAX_MMS = 8;
export const MAX_PAGES = 16;
export const MAX_KPAGES = 4;

/**
 * The content token of a page: which mm's page it is and which incarnation (gen counts the
 * times that page of that mm slot was populated). A stale translation therefore reads a token
 * that names somebody else's page, or an old incarnation of the same one.
 */
export const userToken = (mm: number, page: number, gen: number): number =>
  (gen * (MAX_MMS + 1) + mm) * MAX_PAGES + page;
export const kernelToken = (kpage: number, gen: number): number =>
  (gen * (MAX_MMS + 1) + MAX_MMS) * MAX_PAGES + kpage;

/**
 * Paging domains (iommufd HWPTs) the harness can allocate, and the IOVA pages each maps. An
 * IOVA page is backed by a kernel buffer of its own (a DMA allocation, not a user page), so
 * its tokens live in the kernel half's spare page ids, above the vmalloc pages.
 */
export const MAX_HWPTS = 3;
export const IOVA_PAGES = 4;
/**
 * HWPT 2 is a nested domain (IOMMU_HWPT_DATA_VTD_S1) over HWPT 0, the nest parent: its IOVA
 * pages are the guest's stage-1 table (IOVA → GPA), and a GPA page g is HWPT 0's IOVA page g.
 * It maps no buffer of its own (iommuMap/iommuUnmap name HWPTs below it; guestMap/guestUnmap it).
 */
export const NESTED_HWPT = 2;
export const NEST_PARENT_HWPT = 0;
/** HWPTs with a page table of their own (iommuMap/iommuUnmap). */
export const PAGING_HWPTS = 2;
/**
 * Where the guest keeps its stage-1 table pages in its physical address space (GPA vpns, 2 GiB
 * up): guest RAM the VMM maps into the nest parent when it creates the nested HWPT, away from
 * the IOVA pages so that iommuUnmap never reaches them.
 */
export const GUEST_PT_GPA_VPN = 0x80000;
/** IOVA page p sits where user page p would: pairs share a leaf table (a range spans tables). */
export const iovaVpn = (page: number): number => userVpn(page);
const iovaId = (hwpt: number, page: number): number => MAX_KPAGES + hwpt * IOVA_PAGES + page;
export const iovaToken = (hwpt: number, page: number, gen: number): number => kernelToken(iovaId(hwpt, page), gen);

/** Human form of a token for traces: `mm1.p3#2`, `k0#1`, `hwpt1.iova2#1`. */
export const formatToken = (token: number): string => {
  const page = token % MAX_PAGES;
  const rest = Math.floor(token / MAX_PAGES);
  const mm = rest % (MAX_MMS + 1);
  const gen = Math.floor(rest / (MAX_MMS + 1));
  if (mm !== MAX_MMS) return `mm${mm}.p${page}#${gen}`;
  if (page < MAX_KPAGES) return `k${page}#${gen}`;
  const i = page - MAX_KPAGES;
  return `hwpt${Math.floor(i / IOVA_PAGES)}.iova${i % IOVA_PAGES}#${gen}`;
};
