/**
 * Read-only access to the AMD unit's caches and tables for the invariants (in place, through
 * element access to private maps, as vtdRead.ts does). Nothing is written.
 */
import type { AmdIommuUnit, Gcr3Entry } from '../../src/hw/amd/index.js';
import type { World } from '../../src/impl/index.js';
import type { AmdIommu, IommuDevData } from '../../src/impl/amd/structs.js';
import { dev_iommu_priv_get } from '../../src/impl/amd/structs.js';
import type { Device } from '../../src/impl/index.js';

export { PASID_SPACE, iotlbOf, pscOf } from './vtdRead.js';

export const amdUnits = (world: World): readonly AmdIommu[] => world.iommus as readonly AmdIommu[];

export const devDataOf = (dev: Device): IommuDevData => dev_iommu_priv_get(dev);

/** The GCR3 entry memory holds for (dev, pasid). */
export const memoryGcr3 = (dev: Device, pasid: number): Gcr3Entry | undefined => devDataOf(dev).gcr3_info.gcr3_tbl?.fetch(pasid);

/** The per-device domain ID that tags the device's guest translations (0: no GCR3 table). */
export const gcr3Domid = (dev: Device): number => devDataOf(dev).gcr3_info.domid;

/** Whether the unit's PPR log still holds a request of (devid, pasid). */
export const pprPending = (u: AmdIommuUnit, devid: number, pasid: number): boolean =>
  u.pprLog.pending.some((e) => e.devid === devid && e.pasid === pasid);
