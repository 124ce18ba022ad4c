/**
 * Command submission and the flush helpers, after drivers/iommu/amd/iommu.c (v6.19-rc):
 * build_inv_address and the build_* helpers, iommu_queue_command, iommu_completion_wait, the
 * per-device PASID flushes SVA uses, the domain flush of the RID path and the PPR completion.
 */
import { INV_ALL_PAGES_ADDRESS, type AmdCmd } from '../../hw/amd/index.js';
import { PAGE_SIZE } from '../../shared/index.js';
import { warn } from '../core/kernel.js';
import { spin_lock, spin_unlock } from '../core/locking.js';
import { preemptPoint, preempting, type Co } from '../core/sched.js';
import type { AmdIommu, IommuDevData, ProtectionDomain } from './structs.js';

/** IOMMU_NO_PASID. */
export const IOMMU_NO_PASID = 0;
/** CMD_INV_IOMMU_ALL_PAGES_ADDRESS as the size argument of the flush helpers. */
export const ALL_PAGES = INV_ALL_PAGES_ADDRESS;

const U64 = (1n << 64n) - 1n;
const PAGE_MASK = ~(PAGE_SIZE - 1n) & U64;

/** include/linux/bitops.h fls64: the 1-based index of the most significant set bit, 0 for 0. */
const fls64 = (x: bigint): number => {
  const hi = Number(x >> 32n);
  return hi !== 0 ? 64 - Math.clz32(hi) : 32 - Math.clz32(Number(x & 0xffff_ffffn));
};

/** iommu-helper.h iommu_num_pages: pages spanned by [addr, addr + len). */
const iommu_num_pages = (addr: bigint, len: bigint): bigint => {
  const size = (addr & (PAGE_SIZE - 1n)) + len;
  return (size + PAGE_SIZE - 1n) / PAGE_SIZE;
};

/**
 * build_inv_address (v6.19-rc): one page as itself; more as the naturally aligned block that
 * contains both ends, its size in the low one bits and S set; bit 51 differing → everything.
 */
export function build_inv_address(address: bigint, size: bigint): { address: bigint; s: boolean } {
  const pages = iommu_num_pages(address, size);
  if (pages === 1n) return { address: address & PAGE_MASK, s: false };
  const end = (address + size - 1n) & U64;
  const msb_diff = fls64(end ^ address) - 1;
  let a = address;
  if (msb_diff > 51) a = INV_ALL_PAGES_ADDRESS;
  else a |= (1n << BigInt(msb_diff)) - 1n;
  return { address: a & PAGE_MASK, s: true };
}

/** build_inv_iommu_pages (v6.19-rc): PDE always set ("flush everything, not only the PTEs"). */
export function build_inv_iommu_pages(address: bigint, size: bigint, domid: number, pasid: number, gn: boolean): AmdCmd {
  const inv = build_inv_address(address, size);
  return { kind: 'INVALIDATE_IOMMU_PAGES', domid, pasid: gn ? pasid : 0, gn, pde: true, s: inv.s, address: inv.address };
}

/** build_inv_iotlb_pages (v6.19-rc). */
export function build_inv_iotlb_pages(devid: number, address: bigint, size: bigint, pasid: number, gn: boolean): AmdCmd {
  const inv = build_inv_address(address, size);
  return { kind: 'INVALIDATE_IOTLB_PAGES', devid, pasid: gn ? pasid : 0, gn, s: inv.s, address: inv.address };
}

/** The command is in the ring and MMIO_CMD_TAIL moved past it: the IOMMU may fetch it now. */
const CMD_TAIL = preemptPoint('__iommu_queue_command_sync: MMIO_CMD_TAIL write');

/**
 * iommu_queue_command → __iommu_queue_command_sync (v6.19-rc), under iommu->lock:
 * copy_cmd_to_buffer (the command, then the tail register the IOMMU reads), then need_sync.
 */
export function* iommu_queue_command_sync(iommu: AmdIommu, cmd: AmdCmd, sync: boolean): Co<0> {
  yield* spin_lock(iommu.lock);
  iommu.unit.submit(cmd);
  if (preempting(iommu.kernel)) yield CMD_TAIL;
  iommu.need_sync = sync;
  yield* spin_unlock(iommu.lock);
  return 0;
}

export const iommu_queue_command = (iommu: AmdIommu, cmd: AmdCmd): Co<0> => iommu_queue_command_sync(iommu, cmd, true);

/** One poll of wait_on_sem's udelay(1) loop: the IOMMU (or another CPU) may run meanwhile. */
const WAIT_ON_SEM = preemptPoint('wait_on_sem: udelay(1) polling iommu->cmd_sem');

/**
 * wait_on_sem (v6.19-rc): poll the semaphore outside iommu->lock until the COMPLETION_WAIT
 * stored `data`. The emulated buffer runs up to the wait at submit, so one poll decides; a
 * value that has not arrived by then never will (the LOOP_TIMEOUT case).
 */
function* wait_on_sem(iommu: AmdIommu, data: number): Co<0 | 'EIO'> {
  if (preempting(iommu.kernel)) yield WAIT_ON_SEM;
  if (iommu.unit.cmdBuf.sem - data < 0) {
    warn(iommu.kernel, `${iommu.unit.name}: Completion-Wait loop timed out`);
    return 'EIO';
  }
  return 0;
}

/**
 * iommu_completion_wait (v6.19-rc): nothing to wait for unless a command was queued since the
 * last wait; else a COMPLETION_WAIT storing the next semaphore value, then wait_on_sem. A
 * semaphore that never arrives is the "Completion-Wait loop timed out" alert and -EIO.
 */
export function* iommu_completion_wait(iommu: AmdIommu): Co<0 | 'EIO'> {
  if (!iommu.need_sync) return 0;
  yield* spin_lock(iommu.lock);
  const data = ++iommu.cmd_sem_val;
  iommu.unit.submit({ kind: 'COMPLETION_WAIT', data });
  if (preempting(iommu.kernel)) yield CMD_TAIL;
  iommu.need_sync = false;
  yield* spin_unlock(iommu.lock);
  return yield* wait_on_sem(iommu, data);
}

/** device_flush_iotlb (v6.19-rc): an INVALIDATE_IOTLB_PAGES to the device's ATC. */
export function* device_flush_iotlb(dev_data: IommuDevData, address: bigint, size: bigint, pasid: number, gn: boolean): Co<0> {
  return yield* iommu_queue_command(dev_data.iommu, build_inv_iotlb_pages(dev_data.devid, address, size, pasid, gn));
}

/** iommu_flush_dte (v6.19-rc). */
export const iommu_flush_dte = (iommu: AmdIommu, devid: number): Co<0> => iommu_queue_command(iommu, { kind: 'INVALIDATE_DEVTAB_ENTRY', devid });

/**
 * iommu_flush_dte_sync (v6.14+, "iommu/amd: Introduce helper function to update 256-bit DTE"):
 * one DTE's invalidation and a completion wait. The C waits only if the queueing succeeded;
 * iommu_queue_command cannot fail here (the command buffer never fills).
 */
export function* iommu_flush_dte_sync(iommu: AmdIommu, devid: number): Co {
  yield* iommu_flush_dte(iommu, devid);
  yield* iommu_completion_wait(iommu);
}

/**
 * device_flush_dte (v6.19-rc): the DTE (no aliases here: each endpoint is its own requester
 * id), then the whole ATC of an ATS device.
 */
export function* device_flush_dte(dev_data: IommuDevData): Co<0> {
  yield* iommu_flush_dte(dev_data.iommu, dev_data.devid);
  if (dev_data.ats_enabled) yield* device_flush_iotlb(dev_data, 0n, U64, IOMMU_NO_PASID, false);
  return 0;
}

/**
 * amd_iommu_dev_flush_pasid_pages (v6.19-rc): the IOMMU's TLB for (gcr3 domid, PASID), the ATC
 * of an ATS device for the PASID, and one completion wait.
 */
export function* amd_iommu_dev_flush_pasid_pages(dev_data: IommuDevData, pasid: number, address: bigint, size: bigint): Co {
  const iommu = dev_data.iommu;
  yield* iommu_queue_command(iommu, build_inv_iommu_pages(address, size, dev_data.gcr3_info.domid, pasid, true));
  if (dev_data.ats_enabled) yield* device_flush_iotlb(dev_data, address, size, pasid, true);
  yield* iommu_completion_wait(iommu);
}

/**
 * dev_flush_pasid_all (v6.19-rc). B30: from 474bf01ed9f0 (v6.9) until 8386207f37e9 (v6.12-rc1,
 * "Fix argument order in amd_iommu_dev_flush_pasid_all()") the call passed (0, ALL_PAGES, pasid)
 * for (pasid, address, size): every GCR3 update flushed one page of PASID 0, "leaving the old
 * value of GCR3 from a previous process attached to the same PASID".
 */
export function* amd_iommu_dev_flush_pasid_all(dev_data: IommuDevData, pasid: number): Co {
  if (dev_data.iommu.kernel.fault === 'B30') yield* amd_iommu_dev_flush_pasid_pages(dev_data, 0, ALL_PAGES, BigInt(pasid));
  else yield* amd_iommu_dev_flush_pasid_pages(dev_data, pasid, 0n, ALL_PAGES);
}

/** domain_flush_complete (v6.19-rc): a completion wait on every IOMMU of the domain. */
export function* amd_iommu_domain_flush_complete(domain: ProtectionDomain): Co {
  for (const info of domain.iommu_array.values()) yield* iommu_completion_wait(info.iommu);
}

/**
 * __domain_flush_pages (v6.19-rc) for a v1/identity domain: one INVALIDATE_IOMMU_PAGES of the
 * domain ID per IOMMU (domain_flush_pages_v1), then each ATS device's whole-RID ATC range.
 */
function* __domain_flush_pages(domain: ProtectionDomain, address: bigint, size: bigint): Co {
  const cmd = build_inv_iommu_pages(address, size, domain.id, IOMMU_NO_PASID, false);
  for (const info of domain.iommu_array.values()) yield* iommu_queue_command(info.iommu, cmd);
  for (const dev_data of domain.dev_list) if (dev_data.ats_enabled) yield* device_flush_iotlb(dev_data, address, size, IOMMU_NO_PASID, false);
}

/** amd_iommu_domain_flush_pages (v6.19-rc), without NpCache (not a guest): flush, then wait. */
export function* amd_iommu_domain_flush_pages(domain: ProtectionDomain, address: bigint, size: bigint): Co {
  yield* __domain_flush_pages(domain, address, size);
  yield* amd_iommu_domain_flush_complete(domain);
}

/** amd_iommu_domain_flush_all (v6.19-rc). */
export const amd_iommu_domain_flush_all = (domain: ProtectionDomain): Co => amd_iommu_domain_flush_pages(domain, 0n, ALL_PAGES);

/** PPR_STATUS values of COMPLETE_PPR_REQUEST (IOMMU_PAGE_RESP_SUCCESS/INVALID/FAILURE). */
export const PPR_STATUS = { success: 0, invalid: 1, failure: 2 } as const;

/**
 * amd_iommu_complete_ppr (v6.19-rc): a COMPLETE_PPR_REQUEST, queued without a completion wait;
 * GN (the PASID in the response) when the device's PRG responses require it.
 */
export function* amd_iommu_complete_ppr(dev_data: IommuDevData, pasid: number, status: number, tag: number): Co<0> {
  return yield* iommu_queue_command(dev_data.iommu, {
    kind: 'COMPLETE_PPR_REQUEST', devid: dev_data.devid, pasid: dev_data.pri_tlp ? pasid : 0, gn: dev_data.pri_tlp, status, tag: tag & 0x1ff,
  });
}
