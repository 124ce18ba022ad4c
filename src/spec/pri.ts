/**
 * I/O page faults as the spec sees them (issue 7). A PRI device's access that misses in a
 * bound, live mm is not an error: a page request is sent (the DMA's observation is `{ok: true}`
 * with no value: "request sent, pending"), as long as the device has a free PRI credit. The
 * kernel answers requests only when its fault machinery runs:
 * - serviceFaults: every pending request is handled as iommu_sva_handle_mm does: the mm must
 *   still be live (mmget_not_zero), the page inside a VMA that allows the access; then the
 *   page is faulted in exactly as a CPU touch would and the answer is Success, after which the
 *   device retries and reads the page's token. Otherwise the answer is Invalid and the DMA fails.
 * - the last unbind of a group: each PRI device is detached (its PASID entry / CD cleared) and
 *   then its IOMMU's page requests are drained: every request pending behind that IOMMU is
 *   handled as above, but the retry of a device already detached fails (nothing translates).
 * exit and munmap leave requests pending; they are answered Invalid when handled.
 * Sources: drivers/iommu/iommu-sva.c: iommu_sva_handle_mm; drivers/iommu/intel/prq.c:
 * intel_iommu_drain_pasid_prq; drivers/iommu/io-pgfault.c: iopf_queue_flush_dev (v6.17).
 */
import type { Observation } from '../shared/index.js';
import { PRI_CREDITS } from '../shared/index.js';
import { touch } from './addressSpace.js';
import { dmaFault } from './observe.js';
import { MM, type SpecRequest, type SpecState } from './state.js';

/** The observation of an access that became a page request: done, no value yet. */
export const PRI_QUEUED: Observation = Object.freeze({ ok: true });

/** A PRI device's access that missed: queue a request, or fail without a credit. */
export const pageRequest = (s: SpecState, dev: number, slot: number, page: number, write: boolean): Observation => {
  if (s.outstanding[dev]! >= PRI_CREDITS) return dmaFault('no PRI credit');
  s.outstanding[dev]! += 1;
  s.prq.push({ dev, slot, page, write });
  return PRI_QUEUED;
};

/** iommu_sva_handle_mm on one request, then the device's retry; `attached`: the retry can still translate. */
const answer = (s: SpecState, r: SpecRequest, attached: boolean): boolean => {
  s.outstanding[r.dev]! -= 1;
  const sl = s.slots[r.slot]!;
  const success = sl.mm.state === MM.live && touch(sl, r.slot, r.page, r.write).ok;
  // A surprise-removed device never sees its response: its access is lost.
  const ok = success && attached && s.unplugged[r.dev] === 0;
  s.retired.push({ dev: r.dev, slot: r.slot, page: r.page, ok, token: ok ? sl.token[r.page]! : -1 });
  return success;
};

/** serviceFaults: every pending request is answered. Value: how many were answered Success. */
export const serviceFaults = (s: SpecState): Observation => {
  s.retired.length = 0;
  let success = 0;
  for (const r of s.prq) if (answer(s, r, true)) success++;
  s.prq.length = 0;
  return { ok: true, value: success };
};

/**
 * The PRQ drain of a teardown: answer every request pending behind `iommu`; a request of a
 * device in `detached` (torn down already) for `slot`'s PASID cannot complete its retry.
 */
export const drainIommu = (s: SpecState, iommu: number, detached: readonly number[], slot: number): void => {
  const devices = s.t.topology.devices;
  let kept = 0;
  for (const r of s.prq) {
    if (devices[r.dev]!.iommu === iommu) answer(s, r, r.slot !== slot || !detached.includes(r.dev));
    else s.prq[kept++] = r;
  }
  s.prq.length = kept;
};
