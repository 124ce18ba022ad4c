/** exit(mm): the last mmput (exit_mmap → notifier release). Legal when the mm is live. */
import type fc from 'fast-check';
import type { Topology } from '../../src/shared/index.js';
import { mmId } from '../ids.js';
import { SvaCommand } from '../model.js';

export const exitCommand = (t: Topology): fc.Arbitrary<SvaCommand> =>
  mmId(t).map((mm) => new SvaCommand({ kind: 'exit', mm }));
