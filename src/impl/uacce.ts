/**
 * The SVA device driver's own lock (drivers/misc/uacce/uacce.c: &uacce->mutex, v6.17), one per
 * device: uacce_fops_open holds it across uacce_bind_queue, uacce_fops_release across
 * uacce_put_queue (the queue stops using the PASID) and uacce_unbind_queue, and uacce_remove
 * across the unbind of every open queue. The driver's count of its binds of an mm, and whether
 * an unbind is its last, are decided under it: a concurrent bind of the same device cannot
 * revive a bond whose queue already stopped using the PASID.
 */
import { type Mutex, mutex_init } from './core/locking.js';
import type { Device } from './core/types.js';
import type { World } from './world.js';

const uacceMutexes = new WeakMap<Device, Mutex>();

export const uacceMutex = (world: World, dev: Device): Mutex => {
  let m = uacceMutexes.get(dev);
  if (m === undefined) uacceMutexes.set(dev, (m = mutex_init(world.kernel, '&uacce->mutex')));
  return m;
};
