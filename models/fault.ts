/**
 * Where the fault corpus (src/shared/fault.ts) meets a run: which platforms a fault applies
 * to, and how a trace's recorded `fault` becomes the session options that replay it. The
 * fault itself lives in the impl (Kernel.fault); nothing here changes what a step does.
 */
import { driverFor } from '../src/harness/index.js';
import type { SessionOptions } from '../src/harness/index.js';
import { FAULTS, faultIdRanges, FINDING_NAMES, PLATFORMS, isFaultId, isFindingName } from '../src/shared/index.js';
import type { FaultId, FaultInfo, Platform, Topology } from '../src/shared/index.js';
import { type Checked, bad, good } from '../src/trace/index.js';
import { isTestFaultName, testFaultDriver } from './testFaults.js';

export const faultInfo = (id: FaultId): FaultInfo => FAULTS.find((f) => f.id === id)!;

/** The platforms whose impl holds the fault's code (both for a core bug). */
export const faultPlatforms = (id: FaultId): readonly Platform[] => {
  const p = faultInfo(id).platform;
  return p === 'core' ? PLATFORMS : [p];
};

const platformWords = (ps: readonly Platform[]): string => (ps.length === PLATFORMS.length ? 'every platform' : `${ps.join(', ')} only`);

/**
 * The requested platforms a fault applies to, in the requested order. A request that names
 * none of them is refused: the run would check the correct impl while claiming a fault.
 */
export const platformsForFault = (fault: FaultId | undefined, requested: readonly Platform[]): Checked<readonly Platform[]> => {
  if (fault === undefined) return good(requested);
  const applies = faultPlatforms(fault);
  const kept = requested.filter((p) => applies.includes(p));
  return kept.length > 0
    ? good(kept)
    : bad(`fault ${fault} applies to ${platformWords(applies)}, not to ${requested.join(', ')}`);
};

/** `unknown fault 'x' (known: B01-B19, B30-B31, B40-B41, B50-B53, B60-B61)`: the one line for a name that is not in the corpus. */
export const unknownFault = (name: string): string =>
  `unknown fault '${name}' (known: ${faultIdRanges()})`;

/** A user-supplied fault name → the corpus id, or the one error line. */
export const parseFault = (name: string): Checked<FaultId> => (isFaultId(name) ? good(name) : bad(unknownFault(name)));

/**
 * The session options that re-create the world a trace ran in: its corpus fault, or a test
 * driver a test has registered for its test-only fault. Anything else is one line.
 */
export const replayOptions = (trace: { readonly topology: Topology; readonly fault?: string; readonly fixes?: readonly string[] }): Checked<SessionOptions> => {
  const fixes = trace.fixes ?? [];
  const unknownFix = fixes.find((f) => !isFindingName(f));
  if (unknownFix !== undefined) return bad(`the trace names an unknown finding fix '${unknownFix}' (known: ${FINDING_NAMES.join(', ')})`);
  const withFixes = (o: SessionOptions): SessionOptions => (fixes.length === 0 ? o : { ...o, fixes: fixes.filter(isFindingName) });
  const r = faultOptions(trace);
  return r.ok ? good(withFixes(r.value)) : r;
};

const faultOptions = (trace: { readonly topology: Topology; readonly fault?: string }): Checked<SessionOptions> => {
  const name = trace.fault;
  if (name === undefined) return good({});
  if (isFaultId(name)) {
    const ok = platformsForFault(name, [trace.topology.platform]);
    return ok.ok ? good({ fault: name }) : bad(`the trace's ${ok.error}`);
  }
  if (isTestFaultName(name)) {
    const wrap = testFaultDriver(name);
    if (wrap !== undefined) return good({ driver: wrap(driverFor(trace.topology.platform)) });
    return bad(`the trace was recorded with the test-only fault '${name}', a broken driver only the test suite injects ` +
      `(npx vitest run test/regression replays it); remove its "fault" field to replay the commands on the correct impl`);
  }
  return bad(`the trace names an ${unknownFault(name)}`);
};
