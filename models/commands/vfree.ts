/** vfree(k): unmap kernel page k and free its now-empty table page. Legal when k is mapped. */
import type fc from 'fast-check';
import type { Topology } from '../../src/shared/index.js';
import { kpageId } from '../ids.js';
import { SvaCommand } from '../model.js';

export const vfreeCommand = (t: Topology): fc.Arbitrary<SvaCommand> =>
  kpageId(t).map((kpage) => new SvaCommand({ kind: 'vfree', kpage }));
