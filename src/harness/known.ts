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
  const excusedBy = (v: Violation): FindingName | undefined => {
    for (const name of hits) {
      const e = findingInfo(name).excuses.find((x) => explains(x, v));
      if (e === undefined) continue;
      if (e.ends === true) s.ended = true;
      return name;
    }
    for (const k of met) {
      if (findingInfo(k.finding).excuses.some((e) => e.persistent === true && explains(e, v))) return k.finding;
    }
    return undefined;
  };
  const by = found.map(excusedBy);
  const left = found.filter((_, i) => by[i] === undefined);
  for (const name of hits) {
    const invariants = [...new Set(found.filter((_, i) => by[i] === name).map((v) => v.invariant))].sort();
    if (invariants.length > 0) s.known.push({ finding: name, step, invariants });
  }
  if (left.length > 0) s.ended = false;
  // The excused splats leave the kernel log; any other entry stays for I-SPLAT to report.
  const printed = new Set(found.filter((v, i) => by[i] !== undefined && v.invariant === 'I-SPLAT').map((v) => v.message));
  if (printed.size > 0) {
    const log = coreOf(s.world.kernel).warnings;
    const kept = log.filter((w) => !printed.has(`kernel splat: ${w}`));
    log.length = 0;
    log.push(...kept);
  }
  return left;
};
