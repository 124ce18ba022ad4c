/**
 * REF Refinement: after every step the impl's kernel objects, read through the refinement
 * mapping (../abstraction.ts), equal the spec's abstract state. The fast path compares
 * without building anything; only a mismatch builds both views and reports the first
 * differing paths. (Observation equality, actual vs expected, is the runner's check.)
 */
import { abstractView, diffViews } from '../../src/spec/index.js';
import { abstract } from '../abstraction.js';
import type { CheckContext, Invariant, Violation } from '../invariant.js';
import { matchesSpec } from './refinementMatch.js';
import { NO_VIOLATIONS } from './scan.js';

/** How many differing paths a violation message lists. */
const SHOWN = 5;

function check({ world, spec }: CheckContext): readonly Violation[] {
  if (matchesSpec(world, spec)) return NO_VIOLATIONS;
  const diff = diffViews(abstractView(spec), abstract(world));
  if (diff.length === 0) return NO_VIOLATIONS; // equal up to order: the fast path is conservative
  const slot = /^view\.slots\[(\d+)\]/.exec(diff[0]!)?.[1];
  const more = diff.length > SHOWN ? ` (+${diff.length - SHOWN} more)` : '';
  return [{
    invariant: 'REF',
    objects: slot === undefined ? {} : { mm: Number(slot) },
    message: `abstract(world) differs from the spec: ${diff.slice(0, SHOWN).join('; ')}${more}`,
  }];
}

export const refinement: Invariant = {
  id: 'REF',
  title: 'Refinement: abstract(world) equals the spec state',
  kernelRule: 'The ported kernel is a refinement of the spec: mapping its objects to abstract state gives exactly the state the spec reached on the same commands.',
  source: 'DESIGN.md §7; properties/abstraction.ts (mapping) and src/spec/view.ts (abstract state)',
  check,
};
