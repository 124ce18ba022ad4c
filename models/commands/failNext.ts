/** failNext(site): the next allocation at site returns -ENOMEM. Legal when nothing is armed. */
import fc from 'fast-check';
import { FAIL_SITES } from '../../src/shared/index.js';
import { SvaCommand } from '../model.js';

export const failNextCommand = (): fc.Arbitrary<SvaCommand> =>
  fc.constantFrom(...FAIL_SITES).map((site) => new SvaCommand({ kind: 'failNext', site }));
