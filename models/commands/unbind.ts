/** unbind(dev, mm): iommu_sva_unbind_device on the pair's handle. Legal while the pair has a bond. */
import fc from 'fast-check';
import type { Topology } from '../../src/shared/index.js';
import { devId, mmId } from '../ids.js';
import { SvaCommand } from '../model.js';

export const unbindCommand = (t: Topology): fc.Arbitrary<SvaCommand> =>
  fc.tuple(devId(t), mmId(t)).map(([dev, mm]) => new SvaCommand({ kind: 'unbind', dev, mm }));
