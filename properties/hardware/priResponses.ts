import type { Invariant } from '../invariant.js';
import { perPlatform, type PlatformCheck } from './platform.js';
import { dev_fault_param } from '../../src/impl/core/iopf.js';
import { hwQueueEmpty, hwQueued, kernelPending } from './priRead.js';

/**
 * Both platforms alike, for every PRI endpoint: no response ever named a request that was not
 * outstanding (the endpoint's protocol-error log); each outstanding request is held exactly
 * once by the IOMMU's queue or the kernel (a lost one would never be answered, a duplicate
 * answered twice); the kernel holds nothing the endpoint is not waiting for; and the endpoint
 * waits for as many requests as the spec says are pending.
 */
const check: PlatformCheck = (ctx, out) => {
  const { world, spec } = ctx;
  for (const dev of world.devices) {
    const pri = dev.hw.priState;
    if (pri === undefined) continue;
    for (const e of pri.protocolErrors) out.add({ dev: dev.id }, `response protocol error: ${e}`);
    // Nothing pending anywhere: the common step, checked without allocating.
    if (pri.outstanding.length === 0 && spec.outstanding[dev.id] === 0 && (dev_fault_param(dev)?.faults.length ?? 0) === 0 && hwQueueEmpty(world, dev)) continue;
    const held = [...hwQueued(world, dev), ...kernelPending(dev)];
    for (const r of pri.outstanding) {
      const n = held.filter((h) => h.pasid === r.pasid && h.prgi === r.prgi).length;
      if (n !== 1) out.add({ dev: dev.id, pasid: r.pasid, prg: r.prgi }, `${dev.hw.name} waits for PRG ${r.prgi} (PASID ${r.pasid}), which the IOMMU and kernel hold ${n} times: it will get ${n} responses`);
    }
    for (const h of held) {
      if (!pri.outstanding.some((r) => r.pasid === h.pasid && r.prgi === h.prgi)) {
        out.add({ dev: dev.id, pasid: h.pasid, prg: h.prgi }, `PRG ${h.prgi} (PASID ${h.pasid}) of ${dev.hw.name} is pending in the IOMMU or kernel but not outstanding at the device`);
      }
    }
    if (pri.outstanding.length !== spec.outstanding[dev.id]) {
      out.add({ dev: dev.id }, `${dev.hw.name} has ${pri.outstanding.length} page requests outstanding, the spec ${spec.outstanding[dev.id]}`);
    }
  }
};

/** I-PRI-ONCE: every page request gets exactly one response. */
export const priResponses: Invariant = {
  id: 'I-PRI-ONCE',
  title: 'Every page request gets exactly one response',
  kernelRule:
    'Each reported group is answered once (iopf_group_response only while the group is pending; iopf_error_response when no handler takes it); a response for a request that is not outstanding is a protocol error.',
  source: 'drivers/iommu/io-pgfault.c: iommu_report_device_fault, iopf_group_response, iopf_queue_remove_device (v6.17); PCIe r6.0 10.4.2',
  check: perPlatform('I-PRI-ONCE', { vtd: check, smmuv3: check, amd: check }),
};
