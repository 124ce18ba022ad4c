/**
 * prg(dev, mm, pages, write, rid): a VT-d or AMD PRI device sends one Page Request Group of one or two
 * requests (LAST on the second), through the mm's PASID or, sometimes, with no PASID on its RID
 * (VT-d only: ridGroups; SVA attaches no fault handler there, so the group must still be answered, Invalid). Several of
 * them before a serviceFaults interleave groups of different devices and PASIDs in the PRQ.
 * Sometimes the LAST is held back: a later prg continues the group, or the device's last
 * unbind of the mm abandons it (a LAST that never comes).
 */
import fc from 'fast-check';
import { PRG_MAX_REQUESTS, type Topology } from '../../src/shared/index.js';
import { prgDevices, ridGroups } from '../../src/harness/enabled.js';
import { mmId, pageId } from '../ids.js';
import { SvaCommand } from '../model.js';

export { prgDevices };

export const prgCommand = (t: Topology): fc.Arbitrary<SvaCommand> =>
  fc.tuple(
    fc.constantFrom(...prgDevices(t)), mmId(t), pageId(t), fc.integer({ min: 1, max: PRG_MAX_REQUESTS }), fc.boolean(),
    fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  ).map(([dev, mm, page, count, write, rid0, last]) => {
    const rid = rid0 && ridGroups(t);
    return new SvaCommand({ kind: 'prg', dev, mm, page, count: Math.min(count, t.pages - page), write, rid, last: last || rid });
  });
