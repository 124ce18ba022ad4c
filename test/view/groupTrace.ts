/** A real trace with one concurrent group (bind ∥ touch ∥ bind on VT-d), recorded with events. */
import { checkedGroup, runSequence } from '../../src/harness/index.js';
import { defaultTopology } from '../../src/shared/index.js';
import type { Command } from '../../src/shared/index.js';
import { type Trace, newTrace } from '../../src/trace/index.js';

const setup: Command[] = [{ kind: 'spawn', mm: 1 }, { kind: 'mmap', mm: 1, first: 0, count: 4, prot: 'rw' }];
const group: Command[] = [{ kind: 'bind', dev: 0, mm: 1 }, { kind: 'touch', mm: 1, page: 1, write: true }, { kind: 'bind', dev: 2, mm: 1 }];

export const groupTrace = (seed = 5): Trace => {
  const r = runSequence(defaultTopology('vtd'), setup, { events: true });
  if (!r.ok) throw new Error(r.error);
  const s = r.value.session;
  const found = checkedGroup(s, group, { scheduler: 'random', seed });
  if (found.length > 0) throw new Error(`groupTrace: ${found[0]!.invariant}`);
  return newTrace({ topology: s.topology, seed, commands: s.commands, groups: s.groups, steps: s.steps });
};
