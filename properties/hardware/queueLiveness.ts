import type { Invariant } from '../invariant.js';
import { perPlatform } from './platform.js';
import { smmuUnits } from './smmuRead.js';
import { vtdUnits } from './vtdRead.js';
import { amdUnits } from './amdRead.js';

/**
 * I-QUEUE: at the end of every step each invalidation / command queue is live: no invalidation
 * time-out or CMD_SYNC time-out happened during the step, ITE is clear, and nothing submitted is
 * still waiting for a wait descriptor or CMD_SYNC.
 */
export const queueLiveness: Invariant = {
  id: 'I-QUEUE',
  title: 'Invalidation queues are not hung',
  kernelRule:
    'Every submission ends with a wait/CMD_SYNC that completes; no ATS invalidation is sent to a device that cannot answer (a surprise-removed device), which would hang the queue.',
  source:
    'drivers/iommu/intel/dmar.c: qi_submit_sync, qi_check_fault; drivers/iommu/intel/pasid.c: devtlb_invalidation_with_pasid (pci_dev_is_disconnected); drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c: arm_smmu_cmdq_issue_cmdlist (v6.17); drivers/iommu/amd/iommu.c: iommu_completion_wait (v6.19-rc); bug B15',
  check: perPlatform('I-QUEUE', {
    vtd: (ctx, out) => {
      const units = vtdUnits(ctx.world);
      for (let i = 0; i < units.length; i++) {
        const u = units[i]!.unit;
        const log = ctx.probe.units[i]!;
        if (log.timeouts > 0) out.add({ iommu: i, timeouts: log.timeouts }, `${u.name}: ${log.timeouts} invalidation waits timed out (ITE) during the step`);
        if (u.ite) out.add({ iommu: i }, `${u.name}: ITE still set: the invalidation queue is stopped`);
        if (u.queue.pendingCount > 0) out.add({ iommu: i, pending: u.queue.pendingCount }, `${u.name}: ${u.queue.pendingCount} descriptors queued without a completed wait`);
      }
    },
    smmuv3: (ctx, out) => {
      const units = smmuUnits(ctx.world);
      for (let i = 0; i < units.length; i++) {
        const u = units[i]!.unit;
        const log = ctx.probe.units[i]!;
        if (log.timeouts > 0) out.add({ iommu: i, timeouts: log.timeouts }, `${u.name}: ${log.timeouts} CMD_SYNCs timed out during the step`);
        if (u.pending.length > 0) out.add({ iommu: i, pending: u.pending.length }, `${u.name}: ${u.pending.length} commands queued without a CMD_SYNC`);
      }
    },
    // AMD: an ATS invalidation the endpoint never answers is logged (IOTLB_INV_TIMEOUT) and the
    // buffer moves on; the semaphore must have caught up with the last wait handed out.
    amd: (ctx, out) => {
      const units = amdUnits(ctx.world);
      for (let i = 0; i < units.length; i++) {
        const iommu = units[i]!;
        const u = iommu.unit;
        let timeouts = 0;
        for (const e of u.eventLog.pending) if (e.type === 'IOTLB_INV_TIMEOUT') timeouts++;
        if (timeouts > 0) out.add({ iommu: i, timeouts }, `${u.name}: ${timeouts} IOTLB invalidations timed out (IOTLB_INV_TIMEOUT in the event log)`);
        if (u.cmdBuf.pendingCount > 0) out.add({ iommu: i, pending: u.cmdBuf.pendingCount }, `${u.name}: ${u.cmdBuf.pendingCount} commands without a completed COMPLETION_WAIT`);
        if (u.cmdBuf.sem !== iommu.cmd_sem_val) out.add({ iommu: i }, `${u.name}: completion semaphore ${u.cmdBuf.sem}, the driver waited for ${iommu.cmd_sem_val}`);
      }
    },
  }),
};
