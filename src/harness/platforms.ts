/**
 * Platform → driver: the only place that names the drivers. The core never names one
 * (DESIGN §5); the harness picks the probe plug-in a topology's platform asks for.
 */
import type { IommuDriver, Kernel } from '../impl/index.js';
import { amdIommuDriver } from '../impl/amd/iommu.js';
import { amd_pdom_ids } from '../impl/amd/pdomIds.js';
import { armSmmuV3Driver, arm_smmu_asid_xa } from '../impl/smmuv3/smmu.js';
import { ubsan_reported } from '../impl/smmuv3/shift.js';
import { intelIommuDriver } from '../impl/vtd/iommu.js';
import type { Platform } from '../shared/index.js';

export const DRIVERS: Readonly<Record<Platform, IommuDriver>> = Object.freeze({
  vtd: intelIommuDriver,
  smmuv3: armSmmuV3Driver,
  amd: amdIommuDriver,
});

export const driverFor = (platform: Platform): IommuDriver => DRIVERS[platform];

/**
 * Driver state a world keeps outside its object graph (module WeakMaps keyed by the Kernel)
 * that can change what a later step does: the explorer's state fingerprint reads it. A driver
 * with none needs no entry. SMMUv3: the UBSAN sites already reported (each reports once) and
 * arm_smmu_asid_xa (an ASID a buggy teardown leaks stays allocated there, out of the world's
 * reach).
 */
export const DRIVER_HIDDEN_STATE: Readonly<Partial<Record<Platform, (kernel: Kernel) => unknown>>> = Object.freeze({
  smmuv3: (kernel: Kernel) => [ubsan_reported(kernel), arm_smmu_asid_xa(kernel)],
  // AMD: the protection-domain ID allocator (a leaked ID changes which one the next domain gets).
  amd: (kernel: Kernel) => amd_pdom_ids(kernel),
});
