/**
 * The AMD IOMMU command buffer's commands (AMD I/O Virtualization Technology (IOMMU)
 * Specification, 48882 rev 3.x, §2.4 "Commands"), decoded: the fields the SVA driver fills in
 * drivers/iommu/amd/iommu.c build_* (the 128-bit encodings themselves are not kept).
 */
import { HwError } from '../errors.js';

/** CMD_INV_IOMMU_ALL_PAGES_ADDRESS: bits 62:12 all ones with S = 1 is "every page". */
export const INV_ALL_PAGES_ADDRESS = 0x7fff_ffff_ffff_f000n;

export type AmdCmd =
  /** Invalidate the IOMMU's TLB (and with PDE its page-directory cache) for a domain, or (GN) a domain's PASID. */
  | {
    readonly kind: 'INVALIDATE_IOMMU_PAGES';
    readonly domid: number;
    readonly pasid: number;
    readonly gn: boolean;
    readonly pde: boolean;
    readonly s: boolean;
    /** Address[63:12] with the size encoded in its low one bits when S = 1. */
    readonly address: bigint;
  }
  /** Forwarded to an ATS endpoint as a PCIe ATS Invalidate Request. */
  | {
    readonly kind: 'INVALIDATE_IOTLB_PAGES';
    readonly devid: number;
    readonly pasid: number;
    readonly gn: boolean;
    readonly s: boolean;
    readonly address: bigint;
  }
  | { readonly kind: 'INVALIDATE_DEVTAB_ENTRY'; readonly devid: number }
  /** The store form: the IOMMU writes `data` to the completion semaphore once every earlier command completed. */
  | { readonly kind: 'COMPLETION_WAIT'; readonly data: number }
  | {
    readonly kind: 'COMPLETE_PPR_REQUEST';
    readonly devid: number;
    readonly pasid: number;
    readonly gn: boolean;
    /** PPR_STATUS: 0 success, 1 invalid, 2 failure (include/linux/iommu.h IOMMU_PAGE_RESP_*). */
    readonly status: number;
    readonly tag: number;
  };

export type AmdCmdKind = AmdCmd['kind'];

export const AMD_CMD_KINDS: readonly AmdCmdKind[] = [
  'INVALIDATE_IOMMU_PAGES', 'INVALIDATE_IOTLB_PAGES', 'INVALIDATE_DEVTAB_ENTRY', 'COMPLETION_WAIT', 'COMPLETE_PPR_REQUEST',
];

/** The vpns an encoded invalidation address covers: [first, first + pages); pages = Infinity for all. */
export interface InvRange {
  readonly first: number;
  readonly pages: number;
}

const ALL: InvRange = Object.freeze({ first: 0, pages: Infinity });

/**
 * Decode Address/S (48882 §2.4.3, Table "INVALIDATE_IOMMU_PAGES"): S = 0 is the one 4K page at
 * Address; S = 1 gives the size by the first zero bit of Address from bit 12 up: with bits
 * 12..12+t-1 set and bit 12+t clear the range is 2^(t+1) pages, aligned to its size.
 */
export function invRange(address: bigint, s: boolean): InvRange {
  // Address[63:12] as a number: below 2^52, exact. Plain arithmetic: this runs per command.
  const vpn = Number(address >> 12n);
  if (!s) return { first: vpn, pages: 1 };
  const t = trailingOnes(vpn);
  if (t >= 51) return ALL;
  const pages = 2 ** (t + 1);
  return { first: vpn - (vpn % pages), pages };
}

/** How many low bits of v (an integer below 2^53) are ones. */
function trailingOnes(v: number): number {
  const lo = v % 2 ** 32;
  if (lo !== 0xffff_ffff) return tz32(~lo);
  return 32 + tz32(~Math.floor(v / 2 ** 32));
}

/** Trailing zeros of a 32-bit value (32 for 0). */
const tz32 = (x: number): number => (x === 0 ? 32 : 31 - Math.clz32(x & -x));

/** Reject commands no correct driver can build: a reserved PASID width, a tag beyond 9 bits. */
export function validateCmd(unit: string, cmd: AmdCmd): void {
  switch (cmd.kind) {
    case 'INVALIDATE_IOMMU_PAGES':
      if (!Number.isInteger(cmd.domid) || cmd.domid < 0 || cmd.domid > 0xffff) throw new HwError(unit, `DomainID ${cmd.domid} out of range`);
      if (cmd.gn && (cmd.pasid < 0 || cmd.pasid >= 2 ** 20)) throw new HwError(unit, `PASID ${cmd.pasid} out of range`);
      return;
    case 'INVALIDATE_IOTLB_PAGES':
      if (cmd.gn && (cmd.pasid < 0 || cmd.pasid >= 2 ** 20)) throw new HwError(unit, `PASID ${cmd.pasid} out of range`);
      return;
    case 'COMPLETE_PPR_REQUEST':
      if (cmd.tag < 0 || cmd.tag > 0x1ff) throw new HwError(unit, `PPR tag ${cmd.tag} beyond 9 bits`);
      return;
    case 'INVALIDATE_DEVTAB_ENTRY':
    case 'COMPLETION_WAIT':
      return;
    default: {
      const never: never = cmd;
      throw new HwError(unit, `unknown command ${JSON.stringify(never)}`);
    }
  }
}

const hex = (a: bigint): string => `0x${a.toString(16)}`;

/** One line per command, for traces. */
export function formatCmd(cmd: AmdCmd): string {
  switch (cmd.kind) {
    case 'INVALIDATE_IOMMU_PAGES':
      return `INVALIDATE_IOMMU_PAGES domid=${cmd.domid}${cmd.gn ? ` pasid=${cmd.pasid} GN` : ''}${cmd.pde ? ' PDE' : ''}${cmd.s ? ' S' : ''} addr=${hex(cmd.address)}`;
    case 'INVALIDATE_IOTLB_PAGES':
      return `INVALIDATE_IOTLB_PAGES devid=${cmd.devid}${cmd.gn ? ` pasid=${cmd.pasid} GN` : ''}${cmd.s ? ' S' : ''} addr=${hex(cmd.address)}`;
    case 'INVALIDATE_DEVTAB_ENTRY':
      return `INVALIDATE_DEVTAB_ENTRY devid=${cmd.devid}`;
    case 'COMPLETION_WAIT':
      return `COMPLETION_WAIT store=${cmd.data}`;
    case 'COMPLETE_PPR_REQUEST':
      return `COMPLETE_PPR_REQUEST devid=${cmd.devid}${cmd.gn ? ` pasid=${cmd.pasid} GN` : ''} status=${cmd.status} tag=${cmd.tag}`;
    default: {
      const never: never = cmd;
      return JSON.stringify(never);
    }
  }
}
