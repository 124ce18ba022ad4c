/** prefetch(dev, mm, page): the hardware adversary caches what it can walk. Legal like dma. */
import fc from 'fast-check';
import type { Topology } from '../../src/shared/index.js';
import { devId, mmId, pageId } from '../ids.js';
import { SvaCommand } from '../model.js';

export const prefetchCommand = (t: Topology): fc.Arbitrary<SvaCommand> =>
  fc.tuple(devId(t), mmId(t), pageId(t)).map(([dev, mm, page]) => new SvaCommand({ kind: 'prefetch', dev, mm, page }));
