/**
 * The SMMUv3 driver's command path and the only place that emits TLBI and ATC_INV commands,
 * after drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c (v6.17): command batches, TLB
 * invalidation by ASID and by range, and ATC invalidation of a master or of every ATS master
 * of a domain. Byte addresses are u64 bigints, as the kernel's unsigned long; the commands
 * carry page numbers.
 */
import { CMDQ_TLBI_RANGE_NUM_MAX, CMDQ_TLBI_RANGE_SCALE_MAX, ATC_INV_SIZE_ALL, type SmmuCmd } from '../../hw/smmuv3/index.js';
import { warn } from '../core/kernel.js';
import { spin_lock, spin_unlock } from '../core/locking.js';
import { type Co, type Yield, preemptPoint, preempting } from '../core/sched.js';
import { __ffs, fls_long, shl64, shr64 } from './shift.js';
import { IOMMU_NO_PASID, type ArmSmmuDevice, type ArmSmmuDomain, type ArmSmmuMaster } from './structs.js';

const U64 = (1n << 64n) - 1n;
/** CMDQ_BATCH_ENTRIES (BITS_PER_LONG). */
export const CMDQ_BATCH_ENTRIES = 64;

const vpn = (addr: bigint): number => Number((addr & U64) >> 12n);

/**
 * The CMD_SYNC wait: arm_smmu_cmdq_poll_until_sync spins (WFE or cpu_relax, never sleeps, and
 * with local IRQs off), so it is a preempt point where another CPU runs, not a block: legal
 * under devices_lock, as arm_smmu_mm_release's CD writes need.
 */
const CMD_SYNC_WAIT = preemptPoint('arm_smmu_cmdq_poll_until_sync');

/**
 * The lockless command queue's insertion (arm_smmu_cmdq_issue_cmdlist's cmpxchg on
 * cmdq->q.llq, the entries' writes and the owner's prod update): one atomic publication of
 * the list in the model, since the emulated SMMU consumes a command the moment it is published.
 */
function arm_smmu_cmdq_publish(smmu: ArmSmmuDevice, cmds: readonly SmmuCmd[]): void {
  for (const c of cmds) smmu.unit.submit(c);
}

/**
 * The queue store itself is a hardware-read structure: before a list is published another CPU
 * (or the device) may run, so the order of two command lists is a place where races live (R02:
 * a translation served between an ATC_INV batch's CMD_SYNC and the TLBI). One constant per
 * kind of the list's first command, built once, so a schedule can name the store it stops at.
 */
const CMDQ_STORE: Readonly<Record<SmmuCmd['kind'], Yield>> = {
  CFGI_STE: preemptPoint('arm_smmu_cmdq_issue_cmdlist: store CFGI_STE'),
  CFGI_CD: preemptPoint('arm_smmu_cmdq_issue_cmdlist: store CFGI_CD'),
  TLBI_NH_ASID: preemptPoint('arm_smmu_cmdq_issue_cmdlist: store TLBI_NH_ASID'),
  TLBI_NH_VA: preemptPoint('arm_smmu_cmdq_issue_cmdlist: store TLBI_NH_VA'),
  TLBI_S2_IPA: preemptPoint('arm_smmu_cmdq_issue_cmdlist: store TLBI_S2_IPA'),
  TLBI_NH_ALL: preemptPoint('arm_smmu_cmdq_issue_cmdlist: store TLBI_NH_ALL'),
  TLBI_S12_VMALL: preemptPoint('arm_smmu_cmdq_issue_cmdlist: store TLBI_S12_VMALL'),
  ATC_INV: preemptPoint('arm_smmu_cmdq_issue_cmdlist: store ATC_INV'),
  CMD_SYNC: preemptPoint('arm_smmu_cmdq_issue_cmdlist: store CMD_SYNC'),
  CMD_RESUME: preemptPoint('arm_smmu_cmdq_issue_cmdlist: store CMD_RESUME'),
};

/**
 * arm_smmu_cmdq_issue_cmdlist (v6.17): publish commands, plus a CMD_SYNC when `sync`, and wait
 * for it. Returns false when the sync timed out (-ETIMEDOUT, which SVA callers ignore).
 */
export function* arm_smmu_cmdq_issue_cmdlist(smmu: ArmSmmuDevice, cmds: readonly SmmuCmd[], sync: boolean): Co<boolean> {
  if (preempting(smmu.kernel)) yield CMDQ_STORE[cmds.length === 0 ? 'CMD_SYNC' : cmds[0]!.kind];
  arm_smmu_cmdq_publish(smmu, cmds);
  if (!sync) return true;
  const status = smmu.unit.submit({ kind: 'CMD_SYNC' });
  if (preempting(smmu.kernel)) yield CMD_SYNC_WAIT;
  return status !== 'timeout';
}

/** arm_smmu_cmdq_issue_cmd_with_sync (v6.17). */
export const arm_smmu_cmdq_issue_cmd_with_sync = (smmu: ArmSmmuDevice, cmd: SmmuCmd): Co<boolean> =>
  arm_smmu_cmdq_issue_cmdlist(smmu, [cmd], true);

/** struct arm_smmu_cmdq_batch with arm_smmu_cmdq_batch_init/_add/_submit (v6.17). */
export class ArmSmmuCmdqBatch {
  private cmds: SmmuCmd[] = [];

  constructor(private readonly smmu: ArmSmmuDevice) {}

  /**
   * A full batch is published without a sync (arm_smmu_cmdq_issue_cmdlist(.., false): no
   * wait, so no yield point: plain), and gathering starts again.
   */
  add(cmd: SmmuCmd): void {
    if (this.cmds.length === CMDQ_BATCH_ENTRIES) {
      arm_smmu_cmdq_publish(this.smmu, this.cmds);
      this.cmds = [];
    }
    this.cmds.push(cmd);
  }

  /** Publish what is left and a CMD_SYNC, even when nothing is left. */
  *submit(): Co<boolean> {
    const ok = yield* arm_smmu_cmdq_issue_cmdlist(this.smmu, this.cmds, true);
    this.cmds = [];
    return ok;
  }
}

/** arm_smmu_tlb_inv_asid (v6.17): TLBI_NH_ASID + CMD_SYNC (no E2H in this model). */
export function* arm_smmu_tlb_inv_asid(smmu: ArmSmmuDevice, asid: number): Co {
  yield* arm_smmu_cmdq_issue_cmd_with_sync(smmu, { kind: 'TLBI_NH_ASID', asid });
}

/**
 * The soft-lockup watchdog (kernel/watchdog.c: watchdog_timer_fn, v6.17) as a bound on one
 * command loop. The real detector fires when a CPU has not scheduled for 2 * watchdog_thresh
 * (20 s); the model has no clock, so it counts commands instead. Every finite range the
 * harness makes needs at most MAX_PAGES / 2 * 512 = 4096 per-page TLBIs (and fewer than
 * CMDQ_MAX_TLBI_OPS with the kernel's rule), so a loop that reaches this many is one that on
 * a real machine runs for minutes or for ever: the 2^52 per-page TLBIs of (0, ULONG_MAX)
 * without CMDQ_MAX_TLBI_OPS (B10), or the `iova += 0` loop of an unaligned size (B11). The
 * model prints the splat and stops the loop there: nothing after a hung CPU is meaningful.
 */
export const SOFTLOCKUP_CMDS = 1 << 12;

/**
 * __arm_smmu_tlb_inv_range (v6.17): one TLBI_NH_VA per granule, or with RANGE_INV as few
 * range commands as the 5-bit NUM allows, each covering num << scale pages; then a sync.
 * Arithmetic is the kernel's on arm64: unsigned long wrap-around, __ffs(0) = 64, shifts taken
 * modulo 64 (with UBSAN's report), and the u8 fields truncated by FIELD_PREP into the
 * command's NUM/SCALE (5 bits) and TG/TTL (2 bits), as arm_smmu_cmdq_build_cmd encodes them.
 */
export function* __arm_smmu_tlb_inv_range(
  asid: number,
  leaf: boolean,
  iova: bigint,
  size: bigint,
  granule: bigint,
  smmu_domain: ArmSmmuDomain,
  /** A stage-2 range (TLBI_S2_IPA of this VMID) instead of TLBI_NH_VA of `asid`. */
  vmid?: number,
): Co {
  const smmu = smmu_domain.smmu;
  const kernel = smmu.kernel;
  if (size === 0n) return;
  const end = (iova + size) & U64;
  let inv_range = granule;
  let num_pages = 0n;
  let tg = 0;
  let ttl = 0;
  if (smmu.features.range_inv) {
    // The leaf page size; B12's pgsize_bitmap = 0 makes it 64.
    tg = __ffs(smmu_domain.pgsize_bitmap);
    num_pages = shr64(kernel, '__arm_smmu_tlb_inv_range: num_pages = size >> tg', size, tg);
    // SVA passes a nominal last-level granule with leaf = false: TTL stays 0, and a lone
    // page is widened so NUM and SCALE are not both 0 (errata).
    if (leaf) ttl = 4 - Math.trunc((fls_long(granule) - 1 - 3) / (tg - 3));
    else if ((num_pages & BigInt(CMDQ_TLBI_RANGE_NUM_MAX)) === 1n) num_pages++;
  }
  // cmd->tlbi.tg = (tg - 10) / 2 as a u8, FIELD_PREP'd into 2 bits.
  const cmd_tg = Math.trunc((tg - 10) / 2) & 3;
  const cmds = new ArmSmmuCmdqBatch(smmu);
  let issued = 0;
  while (iova < end) {
    if (issued === SOFTLOCKUP_CMDS) {
      warn(kernel, `watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [__arm_smmu_tlb_inv_range: ${issued} TLBI_NH_VA of ASID ${asid}, iova 0x${iova.toString(16)} still below end 0x${end.toString(16)}]`);
      break;
    }
    let num = 0;
    let scale = 0;
    if (smmu.features.range_inv) {
      const s = __ffs(num_pages);
      const n = shr64(kernel, '__arm_smmu_tlb_inv_range: num = num_pages >> scale', num_pages, s) & BigInt(CMDQ_TLBI_RANGE_NUM_MAX);
      // cmd->tlbi.num = num - 1 and cmd->tlbi.scale = scale, u8s cut to their 5-bit fields.
      num = (Number(n) - 1) & CMDQ_TLBI_RANGE_NUM_MAX;
      scale = s & CMDQ_TLBI_RANGE_SCALE_MAX;
      inv_range = shl64(kernel, '__arm_smmu_tlb_inv_range: inv_range = num << (scale + tg)', n, s + tg);
      num_pages = (num_pages - shl64(kernel, '__arm_smmu_tlb_inv_range: num_pages -= num << scale', n, s)) & U64;
    }
    const range = { addr: vpn(iova), leaf, num, scale, tg: smmu.features.range_inv ? cmd_tg : 0, ttl };
    cmds.add(vmid === undefined ? { kind: 'TLBI_NH_VA', asid, ...range } : { kind: 'TLBI_S2_IPA', vmid, ...range });
    issued++;
    iova = (iova + inv_range) & U64;
  }
  yield* cmds.submit();
}

/** arm_smmu_tlb_inv_range_asid (v6.17). */
export function* arm_smmu_tlb_inv_range_asid(
  iova: bigint,
  size: bigint,
  asid: number,
  granule: bigint,
  leaf: boolean,
  smmu_domain: ArmSmmuDomain,
): Co {
  yield* __arm_smmu_tlb_inv_range(asid, leaf, iova, size, granule, smmu_domain);
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
  const log2_span = fls_long(page_start ^ page_end);
  page_start &= ~((1n << BigInt(log2_span)) - 1n);
  return { kind: 'ATC_INV', sid, ssv, ssid, addr: Number(page_start), size: log2_span };
}

/** arm_smmu_atc_inv_master (v6.17): the whole ATC of one SSID on each of the master's streams. */
export function* arm_smmu_atc_inv_master(master: ArmSmmuMaster, ssid: number): Co<boolean> {
  const cmds = new ArmSmmuCmdqBatch(master.smmu);
  for (const sid of master.streams) cmds.add(arm_smmu_atc_inv_to_cmd(sid, ssid, 0n, 0n));
  return yield* cmds.submit();
}

/**
 * The smp_mb() of arm_smmu_atc_inv_domain: the full barrier between the caller's TLBI + SYNC
 * and the read of nr_ats_masters. A preempt point, so a concurrent arm_smmu_enable_ats (the
 * right-hand column of the C's diagram) can run exactly there.
 */
const ATC_INV_SMP_MB = preemptPoint('arm_smmu_atc_inv_domain: smp_mb() before atomic_read(&nr_ats_masters)');

/**
 * arm_smmu_atc_inv_domain (v6.17; unchanged in v7.0-rc5): after the TLB invalidation has
 * completed, invalidate the range in the ATC of every ATS-enabled master the domain is
 * installed on, one batch, one sync. The C's smp_mb() orders the caller's TLBI + SYNC before
 * the read of nr_ats_masters, against a concurrent arm_smmu_enable_ats():
 *
 *   unmap()                          arm_smmu_enable_ats()
 *   TLBI+SYNC                        atomic_inc(&nr_ats_masters);
 *   smp_mb();                        [...]
 *   atomic_read(&nr_ats_masters);    pci_enable_ats() // writel()
 *
 * so a master whose ATS was enabled before the TLBI completed is always seen. The barrier is
 * a preempt point and the early return reads the count right after it, as the C orders them.
 */
export function* arm_smmu_atc_inv_domain(smmu_domain: ArmSmmuDomain, iova: bigint, size: bigint): Co<number> {
  if (!smmu_domain.smmu.features.ats) return 0;
  yield ATC_INV_SMP_MB;
  if (smmu_domain.nr_ats_masters === 0) return 0;
  const cmds = new ArmSmmuCmdqBatch(smmu_domain.smmu);
  yield* spin_lock(smmu_domain.devices_lock);
  for (const master_domain of smmu_domain.devices) {
    const master = master_domain.master;
    if (!master.ats_enabled) continue;
    for (const sid of master.streams) cmds.add(arm_smmu_atc_inv_to_cmd(sid, master_domain.ssid, iova, size));
  }
  yield* spin_unlock(smmu_domain.devices_lock);
  yield* cmds.submit();
  return 0;
}

/**
 * arm_smmu_tlb_inv_range_domain (v7.0-rc5): a paging domain's range TLBI (stage 1: TLBI_NH_VA
 * by its ASID; stage 2: TLBI_S2_IPA by its VMID, and for a nest parent TLBI_NH_ALL of the VMID
 * with its own sync, since "all the nested S1 ASIDs have to be flushed too"), then the ATC of
 * every ATS master it is installed on, which "can't be leaf-only since we may have zapped an
 * entire table".
 */
export function* arm_smmu_tlb_inv_range_domain(iova: bigint, size: bigint, granule: bigint, leaf: boolean, smmu_domain: ArmSmmuDomain): Co {
  const s2 = smmu_domain.stage === 'S2';
  yield* __arm_smmu_tlb_inv_range(smmu_domain.cd.asid, leaf, iova, size, granule, smmu_domain, s2 ? smmu_domain.s2_cfg.vmid : undefined);
  if (smmu_domain.nest_parent) yield* arm_smmu_cmdq_issue_cmd_with_sync(smmu_domain.smmu, { kind: 'TLBI_NH_ALL', vmid: smmu_domain.s2_cfg.vmid });
  yield* arm_smmu_atc_inv_domain(smmu_domain, iova, size);
}
