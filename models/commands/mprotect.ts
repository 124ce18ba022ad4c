/** mprotect(mm, page, prot): downgrades must reach the secondary TLBs. Legal inside a VMA. */
import fc from 'fast-check';
import type { Topology } from '../../src/shared/index.js';
import { mmId, pageId } from '../ids.js';
import { SvaCommand } from '../model.js';

export const mprotectCommand = (t: Topology): fc.Arbitrary<SvaCommand> =>
  fc.tuple(mmId(t), pageId(t), fc.constantFrom('r' as const, 'none' as const, 'rw' as const))
    .map(([mm, page, prot]) => new SvaCommand({ kind: 'mprotect', mm, page, prot }));
