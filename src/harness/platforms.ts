/**
 * Platform → driver: the only place that names the drivers. The core never names one
 * (DESIGN §5); the harness picks the probe plug-in a topology's platform asks for.
 */
import type { IommuDriver } from '../impl/index.js';
import { amdIommuDriver } from '../impl/amd/iommu.js';
import { armSmmuV3Driver } from '../impl/smmuv3/smmu.js';
import { intelIommuDriver } from '../impl/vtd/iommu.js';
import type { Platform } from '../shared/index.js';

export const DRIVERS: Readonly<Record<Platform, IommuDriver>> = Object.freeze({
  vtd: intelIommuDriver,
  smmuv3: armSmmuV3Driver,
  amd: amdIommuDriver,
});

export const driverFor = (platform: Platform): IommuDriver => DRIVERS[platform];
