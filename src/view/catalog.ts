/**
 * The catalogues behind `sva-harness faults` and `sva-harness invariants`: what the harness
 * can switch on and what it checks, with the kernel's own references, as table rows.
 */
import { INVARIANTS } from '../../properties/registry.js';
import { EXC_ID, OBS_ID } from '../harness/violation.js';
import { FAULTS, PLATFORMS } from '../shared/index.js';
import { ruleOf } from './violationBlock.js';

export const FAULT_HEADER = ['id', 'platforms', 'represented', 'fix', 'title'] as const;

export const faultRows = (): string[][] =>
  FAULTS.map((f) => [
    f.id,
    f.platform === 'core' ? PLATFORMS.join(', ') : f.platform,
    f.notRepresented === undefined ? 'yes' : 'no',
    f.fix,
    f.title,
  ]);

export const INVARIANT_HEADER = ['id', 'title', 'kernel rule', 'source'] as const;

/** Registered invariants in the order they run, then the runner's own two checks. */
export const invariantRows = (): string[][] =>
  [...INVARIANTS.map((i) => i.id), OBS_ID, EXC_ID].map((id) => {
    const r = ruleOf(id)!;
    return [id, r.title, r.kernelRule, r.source];
  });

/** The notes under the faults table: why each unrepresented fault cannot be found. */
export const faultNotes = (): string[] =>
  FAULTS.filter((f) => f.notRepresented !== undefined).map((f) => `${f.id} is not represented: ${f.notRepresented}.`);
