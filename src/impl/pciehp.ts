/**
 * Surprise removal of a PCIe endpoint, after drivers/pci/hotplug/pciehp_pci.c:
 * pciehp_unconfigure_device (v6.17). The link is down before software notices, so the device
 * is marked disconnected first (pci_dev_set_disconnected: pci_dev_is_disconnected() is true
 * from here on), then pci_stop_and_remove_bus_device runs the bound driver's remove. An SVA
 * driver's remove undoes every bind it holds (drivers/misc/uacce/uacce.c: uacce_remove →
 * uacce_put_queue → uacce_unbind_queue → iommu_sva_unbind_device, one per open queue, under
 * &uacce->mutex; here one per bind the harness's fds hold, in mm-slot order).
 * iommu_release_device follows; the harness does not model removing the device from its group,
 * so only a device alone in its group may be unplugged (spec/precondition.ts), and no command
 * names it afterwards.
 */
import type { Co } from './core/sched.js';
import { iommu_sva_unbind_device } from './core/iommuSva.js';
import { mutex_lock, mutex_unlock } from './core/locking.js';
import { uacceMutex } from './uacce.js';
import type { Device } from './core/types.js';
import type { World } from './world.js';

export function* pciehp_surprise_remove(world: World, dev: Device): Co {
  // The endpoint is physically gone, and its ATC with it.
  dev.hw.surpriseRemove();
  world.kernel.trace?.event('core', 'pciehp', `${dev.hw.name}: surprise removal`);
  const lock = uacceMutex(world, dev);
  yield* mutex_lock(lock);
  for (const row of world.fds) {
    const fd = row[dev.id];
    if (fd === undefined) continue;
    row[dev.id] = undefined;
    for (let n = fd.binds; n > 0; n--) yield* iommu_sva_unbind_device(fd.handle);
  }
  yield* mutex_unlock(lock);
}
