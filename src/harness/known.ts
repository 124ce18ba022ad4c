/**
 * Known upstream findings at the checked step (src/shared/finding.ts). A violation is excused
 * only when a finding's buggy path ran in this very step (the impl noted it) and the finding
 * explains it (invariant, message), or when a finding met earlier in the run left state that a
 * persistent excuse covers; everything else is returned as found. An excused splat is taken out
 * of the kernel log (as dmesg -c would), so later steps do not report it again.
 */
import type { Violation } from '../../properties/invariant.js';
import { coreOf } from '../impl/index.js';
import { type FindingExcuse, type FindingName, findingInfo } from '../shared/index.js';
import type { Session } from './session.js';

const explains = (e: FindingExcuse, v: Violation): boolean =>
  e.invariant === v.invariant && (e.message === undefined || v.message.includes(e.message));

export const excuseKnown = (s: Session, step: number, found: readonly Violation[]): readonly Violation[] => {
  if (s.strict) return found;
  const hits = s.world.kernel.findingHits;
  const met = s.known;
  if (hits.length === 0 && met.length === 0) return found;
  // s.known gains an entry per step a finding explained, so a long run repeats the same few
  // findings many times: each is asked once (first met first, the order the list gives).
  const metNames: FindingName[] = [];
  for (let i = 0; i < met.length; i++) if (!metNames.includes(met[i]!.finding)) metNames.push(met[i]!.finding);
  const by: (FindingName | undefined)[] = new Array<FindingName | undefined>(found.length);
  const left: Violation[] = [];
  for (let i = 0; i < found.length; i++) {
    const v = found[i]!;
    const name = excusedBy(s, hits, metNames, v);
    by[i] = name;
    if (name === undefined) left.push(v);
  }
  for (const name of hits) {
    const invariants: string[] = [];
    for (let i = 0; i < found.length; i++) if (by[i] === name && !invariants.includes(found[i]!.invariant)) invariants.push(found[i]!.invariant);
    // A path whose state a persistent excuse covers is met even when nothing broke yet: the
    // wrong state may show only at a later check (I11 at the next quiescent point).
    const lasting = invariants.length === 0 && !metNames.includes(name) && findingInfo(name).excuses.some((e) => e.persistent === true);
    if (invariants.length > 0 || lasting) s.known.push({ finding: name, step, invariants: invariants.sort() });
  }
  if (left.length > 0) s.ended = false;
  // The excused splats leave the kernel log; any other entry stays for I-SPLAT to report.
  let printed: Set<string> | undefined;
  for (let i = 0; i < found.length; i++) if (by[i] !== undefined && found[i]!.invariant === 'I-SPLAT') (printed ??= new Set()).add(found[i]!.message);
  if (printed !== undefined) {
    const log = coreOf(s.world.kernel).warnings;
    const kept = log.filter((w) => !printed.has(`kernel splat: ${w}`));
    log.length = 0;
    log.push(...kept);
  }
  return left.length === found.length ? found : left;
};

/**
 * The finding that excuses `v`: one whose buggy path ran in this step and explains it (an
 * excuse that ends the run says so), else one met earlier whose persistent excuse explains it.
 */
function excusedBy(s: Session, hits: readonly FindingName[], metNames: readonly FindingName[], v: Violation): FindingName | undefined {
  for (const name of hits) {
    const e = findingInfo(name).excuses.find((x) => explains(x, v));
    if (e === undefined) continue;
    if (e.ends === true) s.ended = true;
    return name;
  }
  for (const name of metNames) {
    if (findingInfo(name).excuses.some((e) => e.persistent === true && explains(e, v))) return name;
  }
  return undefined;
}

/**
 * Whether a known finding would excuse `v` at this point (a group's linearization asks it of a
 * member's observation before any check runs): a path that ran in this group, or a finding met
 * earlier whose persistent excuse explains it. Asks only; excuseKnown records.
 */
export const knownExplains = (s: Session, v: Violation): boolean => {
  if (s.strict) return false;
  for (const name of s.world.kernel.findingHits) if (findingInfo(name).excuses.some((e) => explains(e, v))) return true;
  for (let i = 0; i < s.known.length; i++) {
    if (findingInfo(s.known[i]!.finding).excuses.some((e) => e.persistent === true && explains(e, v))) return true;
  }
  return false;
};
