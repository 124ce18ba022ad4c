/** failNext(site): the next call at site fails. Legal when nothing is armed; sites of the platform only. */
import fc from 'fast-check';
import { type Topology, failSitesOf } from '../../src/shared/index.js';
import { SvaCommand } from '../model.js';

export const failNextCommand = (t: Topology): fc.Arbitrary<SvaCommand> =>
  fc.constantFrom(...failSitesOf(t.platform)).map((site) => new SvaCommand({ kind: 'failNext', site }));
