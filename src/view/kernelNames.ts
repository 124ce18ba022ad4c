/**
 * A violation's objects in the kernel's own words: `mm=2` is the mm_struct of slot 2, `did=1`
 * a VT-d domain id, `asid=1` an SMMUv3 ASID. The harness numbers objects by small ids; a kernel
 * developer reads them as the structures they stand for, on the trace's platform.
 */
import type { Platform } from '../shared/index.js';

const COMMON: Readonly<Record<string, string>> = {
  mm: 'struct mm_struct (mm slot)',
  child: 'struct mm_struct (fork child slot)',
  dev: 'struct device (harness device id = requester/stream id)',
  pasid: 'PASID (mm->iommu_mm->pasid)',
  handle: 'struct iommu_sva (attach handle)',
  domain: 'struct iommu_domain (SVA domain, allocation order)',
  group: 'struct iommu_group',
  frame: 'physical page frame (struct page)',
  level: 'page-table level (1 = PTE table)',
  kpage: 'vmalloc page (kernel half)',
  page: 'user page of the mm',
  vpn: 'virtual page number',
  at: 'position of the command among those the step queued',
};

// Partial: a platform added later reads the common names until it lists its own.
const PLATFORM: Partial<Record<Platform, Readonly<Record<string, string>>>> = {
  vtd: {
    iommu: 'struct intel_iommu (DMAR unit dmarN)',
    did: 'dmar_domain domain id (DID)',
    sid: 'PCI requester id (source id)',
  },
  smmuv3: {
    iommu: 'struct arm_smmu_device (smmuN)',
    asid: 'arm_smmu_domain->cd.asid (ASID)',
    sid: 'StreamID',
    ssid: 'SubstreamID (= PASID)',
  },
};

/** The kernel structure an object key names on `platform`; the key itself when unknown. */
export const kernelName = (platform: Platform, key: string): string =>
  PLATFORM[platform]?.[key] ?? COMMON[key] ?? key;

/** `mm=2` → `mm2`, `dev=1` → `dev1`, `iommu=0` → `dmar0` / `smmu0`; other keys `key=value`. */
export const objectLabel = (platform: Platform, key: string, value: number): string => {
  switch (key) {
    case 'mm':
    case 'child':
      return `mm${value}`;
    case 'dev':
      return `dev${value}`;
    case 'iommu':
      return platform === 'vtd' ? `dmar${value}` : platform === 'smmuv3' ? `smmu${value}` : `iommu${value}`;
    default:
      return `${key} ${value}`;
  }
};
