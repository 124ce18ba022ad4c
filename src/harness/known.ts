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
  // A finding met earlier whose persistent excuse explains an invariant not yet recorded for it
  // (the wrong state showing only later: a stale IOTLB entry at the next unmap) is recorded at
  // this step, with that invariant.
  for (const name of metNames) {
    if (hits.includes(name)) continue;
    const invariants: string[] = [];
    for (let i = 0; i < found.length; i++) {
      const inv = found[i]!.invariant;
      if (by[i] === name && !invariants.includes(inv) && !s.known.some((k) => k.finding === name && k.invariants.includes(inv))) invariants.push(inv);
    }
    if (invariants.length > 0) s.known.push({ finding: name, step, invariants: invariants.sort() });
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
 * The finding whose excuse explains `v`, and that excuse: one whose buggy path ran in this step
 * (`hits`), else one met earlier (`metNames`) whose persistent excuse does.
 */
function findExcuse(hits: readonly FindingName[], metNames: readonly FindingName[], v: Violation): { name: FindingName; excuse: FindingExcuse; hit: boolean } | undefined {
  for (const name of hits) {
    const excuse = findingInfo(name).excuses.find((x) => explains(x, v));
    if (excuse !== undefined) return { name, excuse, hit: true };
  }
  for (const name of metNames) {
    const excuse = findingInfo(name).excuses.find((e) => e.persistent === true && explains(e, v));
    if (excuse !== undefined) return { name, excuse, hit: false };
  }
  return undefined;
}

/** The finding that excuses `v` (an excuse that ends the run says so). */
function excusedBy(s: Session, hits: readonly FindingName[], metNames: readonly FindingName[], v: Violation): FindingName | undefined {
  const found = findExcuse(hits, metNames, v);
  if (found === undefined) return undefined;
  // A lasting state that makes spec and kernel part ways later ends the run there too.
  if (found.excuse.ends === true) s.ended = true;
  return found.name;
}

/**
 * Whether a known finding would excuse `v` at this point (a group's linearization asks it of a
 * member's observation before any check runs). Asks only; excuseKnown records.
 */
export const knownExplains = (s: Session, v: Violation): boolean =>
  !s.strict && findExcuse(s.world.kernel.findingHits, s.known.map((k) => k.finding), v) !== undefined;
