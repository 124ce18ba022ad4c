/**
 * A PRI device stops using a PASID with a PCIe Stop Marker, as the spec sees it.
 *
 * PCIe r4.0 and later, 10.4.1.2 ("to stop with the use of a Stop Marker Message"): the function
 * stops queueing requests for the PASID, finishes its multi-page groups (the precondition: none
 * is open), marks every outstanding request of the PASID stale (their PRG responses return the
 * credits and PRG indexes "but are otherwise ignored": no retry), and sends a Stop Marker, a
 * Page Request Message with L = 1 and R = W = 0 telling the host that later requests on the
 * PASID are a new use of it. The marker holds no credit and is never answered.
 *
 * VT-d writes it into the PRQ like a page request (it takes a slot); a full PRQ drops it
 * silently, PRO untouched (ecap SMS = 1). prq_event_thread drops it before the device lookup,
 * unanswered ("Drop Stop Marker message. No need for a response.", drivers/iommu/intel/prq.c,
 * v7.0-rc5; da8669ff41fa), so the IOPF core never sees it; a teardown's drain waits for the
 * thread to consume it like any descriptor of (RID, PASID).
 */
import { OK_OBS } from './observe.js';
import { requestPasid, send } from './pri.js';
import type { Observation } from '../shared/index.js';
import type { SpecState } from './state.js';

/** An endpoint whose PRI a Response Failure turned off (spec/pri.ts priFailed) sends no Stop Marker either. */
const REFUSED: Observation = Object.freeze({ ok: false, errno: 'EFAULT', fault: 'stop marker refused' });

/** stopMarker(dev, mm): the device's requests on the mm's PASID turn stale, then its Stop Marker is queued. */
export const stopMarker = (s: SpecState, dev: number, slot: number): Observation => {
  if (s.priFailed[dev] === 1) return REFUSED;
  for (let i = 0; i < s.waiting.length; i++) {
    const w = s.waiting[i]!;
    if (w.dev === dev && w.slot === slot && w.stale === undefined) s.waiting[i] = { ...w, stale: true };
  }
  send(s, { dev, slot, pasid: requestPasid(s, slot), page: -1, write: false, prgi: 0, last: true, stop: true });
  return OK_OBS;
};
