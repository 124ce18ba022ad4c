/** gracePeriod(): an SRCU grace period; deferred free_notifier callbacks run. Always legal. */
import fc from 'fast-check';
import { SvaCommand } from '../model.js';

export const gracePeriodCommand = (): fc.Arbitrary<SvaCommand> =>
  fc.constant(null).map(() => new SvaCommand({ kind: 'gracePeriod' }));
