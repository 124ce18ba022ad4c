/**
 * struct pci_dev reference counting, as far as the IOMMU drivers' fault paths use it, after
 * drivers/pci/search.c: pci_get_domain_bus_and_slot and pci_dev_put (v6.19-rc): the lookup
 * returns the device with its refcount incremented, and the caller must put it. Only the
 * references taken here are counted (the probe's own are not modelled): a count above zero
 * once a lookup's caller has returned is a leak.
 */
import type { Device } from './core/types.js';

const refs = new WeakMap<Device, number>();

/** pci_get_domain_bus_and_slot: the device at `devid` in its segment, with a reference, or undefined. */
export function pci_get_domain_bus_and_slot(segment: ReadonlyMap<number, Device>, devid: number): Device | undefined {
  const dev = segment.get(devid);
  if (dev !== undefined) refs.set(dev, (refs.get(dev) ?? 0) + 1);
  return dev;
}

/** pci_dev_put: a put without a reference is refcount_t's underflow (an exception here: a finding). */
export function pci_dev_put(dev: Device): void {
  const n = refs.get(dev) ?? 0;
  if (n === 0) throw new Error(`pci_dev_put(${dev.hw.name}): refcount underflow`);
  refs.set(dev, n - 1);
}

/** References taken by lookups and not put. */
export const pci_dev_refs = (dev: Device): number => refs.get(dev) ?? 0;
