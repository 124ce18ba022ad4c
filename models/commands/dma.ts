/** dma(dev, mm, page, write): the device uses the mm's PASID. Legal while the mm has one. */
import fc from 'fast-check';
import type { Topology } from '../../src/shared/index.js';
import { devId, mmId, pageId } from '../ids.js';
import { SvaCommand } from '../model.js';

export const dmaCommand = (t: Topology): fc.Arbitrary<SvaCommand> =>
  fc.tuple(devId(t), mmId(t), pageId(t), fc.boolean())
    .map(([dev, mm, page, write]) => new SvaCommand({ kind: 'dma', dev, mm, page, write }));
