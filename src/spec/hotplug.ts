/**
 * Surprise removal of a PCIe device as the spec sees it. pciehp marks the device disconnected
 * (pci_dev_set_disconnected) and removes it (pci_stop_and_remove_bus_device): the bound
 * driver's remove undoes every bind it holds, each through iommu_sva_unbind_device
 * (drivers/misc/uacce/uacce.c: uacce_remove → uacce_put_queue → uacce_unbind_queue, v6.17),
 * in mm-slot order. Afterwards the device is gone: nothing may name it again.
 */
import { unbindHandle } from './bind.js';
import type { SpecState } from './state.js';

export const unplug = (s: SpecState, dev: number): void => {
  s.retired.length = 0;
  // pci_dev_set_disconnected first: the drains of the unbinds below answer into the void.
  s.unplugged[dev] = 1;
  const mms = s.t.topology.mms;
  for (let slot = 0; slot < mms; slot++) {
    const bond = s.bonds[dev * mms + slot]!;
    // No unbindStop: nothing can stop a device that is gone, so its open groups stay open.
    while (bond.ctx.n > 0) unbindHandle(s, dev, slot);
  }
};
