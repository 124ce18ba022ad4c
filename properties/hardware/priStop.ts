import type { Invariant } from '../invariant.js';
import { perPlatform, type PlatformCheck } from './platform.js';
import { IOMMU_FAULT_PERM_READ, IOMMU_FAULT_PERM_WRITE, type IopfFault, dev_fault_param } from '../../src/impl/core/iopf.js';
import { isStopMarker } from '../../src/hw/vtd/prq.js';
import type { VtdUnit } from '../../src/hw/vtd/unit.js';

/**
 * A fault the IOPF core holds with neither read nor write access asked: what a Stop Marker
 * (R = W = 0) becomes if a driver reports it. Every page request here asks one of them.
 */
const asksNothing = (f: IopfFault): boolean => (f.prm.perm & (IOMMU_FAULT_PERM_READ | IOMMU_FAULT_PERM_WRITE)) === 0;

/**
 * VT-d, where the hardware delivers Stop Markers: the IOPF core holds none of them (not on a
 * device's partial list, not as a reported group awaiting its response, not as queued work),
 * and each PRQ holds as many Stop Markers as the spec says (one left behind means the driver
 * skipped it, one missing that the unit or the driver lost it). That a marker is never
 * answered and holds no credit is I-PRI-ONCE's (a response to it names a group the endpoint
 * does not have outstanding; the endpoint's outstanding count is compared with the spec's,
 * which gives a marker none); that a teardown's drain waits for it is I-PRI-DRAIN's.
 */
const check: PlatformCheck = (ctx, out) => {
  const { world, spec } = ctx;
  for (const dev of world.devices) {
    const p = dev_fault_param(dev);
    // The common step: nothing held, checked without allocating.
    if (p === undefined || (p.partial.length === 0 && p.faults.length === 0 && p.queue.wq.length === 0)) continue;
    const held: [string, number][] = [
      ['on the partial list', p.partial.filter(asksNothing).length],
      ['reported as a group awaiting its response', p.faults.filter((g) => g.faults.some(asksNothing)).length],
      ['queued as fault work', p.queue.wq.filter((g) => g.fault_param.dev === dev && g.faults.some(asksNothing)).length],
    ];
    for (const [where, n] of held) {
      if (n > 0) out.add({ dev: dev.id }, `${dev.hw.name}: ${n} Stop Marker(s) ${where} in the IOPF core, which must never see one (drivers must discard them)`);
    }
  }
  const devices = world.topology.devices;
  for (const iommu of world.iommus) {
    const prq = (iommu.unit as VtdUnit).prq;
    let have = 0;
    for (const r of prq.pending) if (isStopMarker(r)) have++;
    let want = 0;
    for (const r of spec.prq) if (r.stop === true && devices[r.dev]!.iommu === iommu.index) want++;
    if (have !== want) out.add({ iommu: iommu.index }, `${iommu.unit.name}: the PRQ holds ${have} Stop Marker(s), the spec ${want}`);
  }
};

/** I-PRI-STOP: a Stop Marker is consumed by the driver and never reaches the IOPF core. */
export const priStop: Invariant = {
  id: 'I-PRI-STOP',
  title: 'Stop Markers are dropped by the driver: never reported, never answered',
  kernelRule:
    'io-pgfault "doesn\'t handle PCI PASID Stop Marker; IOMMU drivers must discard them before reporting faults"; VT-d\'s prq_event_thread drops one ("No need for a response") before the device lookup.',
  source:
    'drivers/iommu/io-pgfault.c: iommu_report_device_fault (kdoc); drivers/iommu/intel/prq.c: prq_event_thread (v7.0-rc5; da8669ff41fa); PCIe r4.0 10.4.1.2 (Stop Marker: no response)',
  check: perPlatform('I-PRI-STOP', { vtd: check, smmuv3: () => {}, amd: () => {} }),
};
