/** serviceFaults(): the IOPF threads and workqueue run; pending page requests are answered. Always legal. */
import fc from 'fast-check';
import { SvaCommand } from '../model.js';

export const serviceFaultsCommand = (): fc.Arbitrary<SvaCommand> =>
  fc.constant(null).map(() => new SvaCommand({ kind: 'serviceFaults' }));
