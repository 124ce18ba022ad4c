/** bind(dev, mm): iommu_sva_bind_device. Legal when the mm is live. */
import fc from 'fast-check';
import type { Topology } from '../../src/shared/index.js';
import { devId, mmId } from '../ids.js';
import { SvaCommand } from '../model.js';

export const bindCommand = (t: Topology): fc.Arbitrary<SvaCommand> =>
  fc.tuple(devId(t), mmId(t)).map(([dev, mm]) => new SvaCommand({ kind: 'bind', dev, mm }));
