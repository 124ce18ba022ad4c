/**
 * prefetchKernel(dev, mm, k): the hardware adversary walks kernel page k through the mm's
 * PASID (the walk faults at the supervisor leaf but leaves the upper levels in the IOMMU's
 * paging-structure cache: CVE-2025-71202, B14). Legal like prefetch.
 */
import fc from 'fast-check';
import type { Topology } from '../../src/shared/index.js';
import { devId, kpageId, mmId } from '../ids.js';
import { SvaCommand } from '../model.js';

export const prefetchKernelCommand = (t: Topology): fc.Arbitrary<SvaCommand> =>
  fc.tuple(devId(t), mmId(t), kpageId(t)).map(([dev, mm, kpage]) => new SvaCommand({ kind: 'prefetchKernel', dev, mm, kpage }));
