/**
 * The SMMUv3 driver's command path and the only place that emits TLBI and ATC_INV commands,
 * after drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c (v6.17): command batches, TLB
 * invalidation by ASID and by range, and ATC invalidation of a master or of every ATS master
 * of a domain. Byte addresses are u64 bigints, as the kernel's unsigned long; the commands
 * carry page numbers.
 */
import { CMDQ_TLBI_RANGE_NUM_MAX, ATC_INV_SIZE_ALL, type SmmuCmd } from '../../hw/smmuv3/index.js';
import { IOMMU_NO_PASID, type ArmSmmuDevice, type ArmSmmuDomain, type ArmSmmuMaster } from './structs.js';

const U64 = (1n << 64n) - 1n;
/** CMDQ_BATCH_ENTRIES (BITS_PER_LONG). */
export const CMDQ_BATCH_ENTRIES = 64;

const vpn = (addr: bigint): number => Number((addr & U64) >> 12n);

/** The kernel's __ffs / fls_long on u64 values (bit index of the lowest / 1 + highest set bit). */
const ffs = (x: bigint): number => {
  let n = 0;
  while ((x & 1n) === 0n && n < 64) {
    x >>= 1n;
    n++;
  }
  return n;
};
const fls = (x: bigint): number => x.toString(2).length - (x === 0n ? 1 : 0);

/**
 * arm_smmu_cmdq_issue_cmdlist (v6.17): publish commands, plus a CMD_SYNC when `sync`, and wait
 * for it. Returns false when the sync timed out (-ETIMEDOUT, which SVA callers ignore).
 */
export function arm_smmu_cmdq_issue_cmdlist(smmu: ArmSmmuDevice, cmds: readonly SmmuCmd[], sync: boolean): boolean {
  for (const c of cmds) smmu.unit.submit(c);
  return sync ? smmu.unit.submit({ kind: 'CMD_SYNC' }) !== 'timeout' : true;
}

/** arm_smmu_cmdq_issue_cmd_with_sync (v6.17). */
export const arm_smmu_cmdq_issue_cmd_with_sync = (smmu: ArmSmmuDevice, cmd: SmmuCmd): boolean =>
  arm_smmu_cmdq_issue_cmdlist(smmu, [cmd], true);

/** struct arm_smmu_cmdq_batch with arm_smmu_cmdq_batch_init/_add/_submit (v6.17). */
export class ArmSmmuCmdqBatch {
  private cmds: SmmuCmd[] = [];

  constructor(private readonly smmu: ArmSmmuDevice) {}

  /** A full batch is published without a sync, and gathering starts again. */
  add(cmd: SmmuCmd): void {
    if (this.cmds.length === CMDQ_BATCH_ENTRIES) {
      arm_smmu_cmdq_issue_cmdlist(this.smmu, this.cmds, false);
      this.cmds = [];
    }
    this.cmds.push(cmd);
  }

  /** Publish what is left and a CMD_SYNC, even when nothing is left. */
  submit(): boolean {
    const ok = arm_smmu_cmdq_issue_cmdlist(this.smmu, this.cmds, true);
    this.cmds = [];
    return ok;
  }
}

/** arm_smmu_tlb_inv_asid (v6.17): TLBI_NH_ASID + CMD_SYNC (no E2H in this model). */
export function arm_smmu_tlb_inv_asid(smmu: ArmSmmuDevice, asid: number): void {
  arm_smmu_cmdq_issue_cmd_with_sync(smmu, { kind: 'TLBI_NH_ASID', asid });
}

/**
 * __arm_smmu_tlb_inv_range (v6.17): one TLBI_NH_VA per granule, or with RANGE_INV as few
 * range commands as the 5-bit NUM allows, each covering num << scale pages; then a sync.
 */
export function __arm_smmu_tlb_inv_range(
  asid: number,
  leaf: boolean,
  iova: bigint,
  size: bigint,
  granule: bigint,
  smmu_domain: ArmSmmuDomain,
): void {
  const smmu = smmu_domain.smmu;
  if (size === 0n) return;
  const end = (iova + size) & U64;
  let inv_range = granule;
  let num_pages = 0n;
  let tg = 0;
  let cmd_tg = 0;
  let ttl = 0;
  if (smmu.features.range_inv) {
    // The leaf page size; __ffs(0) (B12's pgsize_bitmap = 0) is undefined in C: 64 here.
    tg = ffs(smmu_domain.pgsize_bitmap);
    num_pages = size >> BigInt(tg);
    cmd_tg = Math.trunc((tg - 10) / 2);
    // SVA passes a nominal last-level granule with leaf = false: TTL stays 0, and a lone
    // page is widened so NUM and SCALE are not both 0 (errata).
    if (leaf) ttl = 4 - Math.trunc((fls(granule) - 1 - 3) / (tg - 3));
    else if ((num_pages & BigInt(CMDQ_TLBI_RANGE_NUM_MAX)) === 1n) num_pages++;
  }
  const cmds = new ArmSmmuCmdqBatch(smmu);
  while (iova < end) {
    let num = 0;
    let scale = 0;
    if (smmu.features.range_inv) {
      scale = ffs(num_pages);
      const n = (num_pages >> BigInt(scale)) & BigInt(CMDQ_TLBI_RANGE_NUM_MAX);
      num = Number(n) - 1;
      inv_range = n << BigInt(scale + tg);
      num_pages -= n << BigInt(scale);
    }
    cmds.add({ kind: 'TLBI_NH_VA', asid, addr: vpn(iova), leaf, num, scale, tg: cmd_tg, ttl });
    iova += inv_range;
  }
  cmds.submit();
}

/** arm_smmu_tlb_inv_range_asid (v6.17). */
export function arm_smmu_tlb_inv_range_asid(
  iova: bigint,
  size: bigint,
  asid: number,
  granule: bigint,
  leaf: boolean,
  smmu_domain: ArmSmmuDomain,
): void {
  __arm_smmu_tlb_inv_range(asid, leaf, iova, size, granule, smmu_domain);
}

/**
 * arm_smmu_atc_inv_to_cmd (v6.17): size 0 = the whole ATC of the SSID; otherwise the smallest
 * naturally aligned power-of-two span of 4K pages covering [iova, iova + size). SSID 0 goes
 * without a PASID prefix and so hits every PASID's entries.
 */
export function arm_smmu_atc_inv_to_cmd(sid: number, ssid: number, iova: bigint, size: bigint): SmmuCmd {
  const ssv = ssid !== IOMMU_NO_PASID;
  if (size === 0n) return { kind: 'ATC_INV', sid, ssv, ssid, addr: 0, size: ATC_INV_SIZE_ALL };
  let page_start = (iova & U64) >> 12n;
  const page_end = ((iova + size - 1n) & U64) >> 12n;
  const log2_span = fls(page_start ^ page_end);
  page_start &= ~((1n << BigInt(log2_span)) - 1n);
  return { kind: 'ATC_INV', sid, ssv, ssid, addr: Number(page_start), size: log2_span };
}

/** arm_smmu_atc_inv_master (v6.17): the whole ATC of one SSID on each of the master's streams. */
export function arm_smmu_atc_inv_master(master: ArmSmmuMaster, ssid: number): boolean {
  const cmds = new ArmSmmuCmdqBatch(master.smmu);
  for (const sid of master.streams) cmds.add(arm_smmu_atc_inv_to_cmd(sid, ssid, 0n, 0n));
  return cmds.submit();
}

/**
 * arm_smmu_atc_inv_domain (v6.17): after the TLB invalidation has completed, invalidate the
 * range in the ATC of every ATS-enabled master the domain is installed on, one batch, one sync.
 * The kernel's smp_mb() orders the TLBI + SYNC before reading nr_ats_masters against a
 * concurrent arm_smmu_enable_ats(); this model runs one CPU, so program order stands for it.
 */
export function arm_smmu_atc_inv_domain(smmu_domain: ArmSmmuDomain, iova: bigint, size: bigint): number {
  if (!smmu_domain.smmu.features.ats) return 0;
  if (smmu_domain.nr_ats_masters === 0) return 0;
  const cmds = new ArmSmmuCmdqBatch(smmu_domain.smmu);
  for (const master_domain of smmu_domain.devices) {
    const master = master_domain.master;
    if (!master.ats_enabled) continue;
    for (const sid of master.streams) cmds.add(arm_smmu_atc_inv_to_cmd(sid, master_domain.ssid, iova, size));
  }
  cmds.submit();
  return 0;
}
