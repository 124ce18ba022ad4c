/** failNth(n): the n-th fallible call of the next command fails. Legal when nothing is armed. */
import fc from 'fast-check';
import { FAIL_NTH_MAX } from '../../src/shared/index.js';
import { SvaCommand } from '../model.js';

export const failNthCommand = (): fc.Arbitrary<SvaCommand> =>
  fc.integer({ min: 1, max: FAIL_NTH_MAX }).map((n) => new SvaCommand({ kind: 'failNth', n }));
