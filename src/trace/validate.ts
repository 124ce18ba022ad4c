import { topologyError } from '../shared/index.js';
import { type Checked, bad, good } from './checked.js';
import { MAX_TRACE_BYTES, parseJsonText } from './jsonText.js';
import { commandRangeError } from './ranges.js';
import { describeIssue, traceSchema } from './schema.js';
import type { Trace } from './trace.js';
import { TRACE_FORMAT_VERSION } from './version.js';

/**
 * Untrusted trace text → a Trace, or ONE line `file: where: what`. Never throws: the order of
 * the checks (size, JSON, version, shape, topology, ids) makes each message name the first
 * real problem, and a wrong version is reported as such rather than as a dozen shape errors.
 */
export const parseTrace = (text: string, file: string, limit = MAX_TRACE_BYTES): Checked<Trace> => {
  try {
    const json = parseJsonText(text, file, limit);
    if (!json.ok) return json;
    const problem = traceProblem(json.value);
    return problem === undefined ? good(json.value as Trace) : bad(`${file}: ${problem}`);
  } catch (e) {
    // A bug of ours, not of the file; still one line (e.g. a stack overflow on absurd nesting).
    return bad(`${file}: could not validate: ${e instanceof Error ? e.message : String(e)}`);
  }
};

/** Validates an in-memory value (e.g. a trace the runner is about to write). */
export const traceProblem = (doc: unknown): string | undefined => {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return 'not a trace: the top level must be a JSON object';
  const version = (doc as { formatVersion?: unknown }).formatVersion;
  if (version === undefined) return 'formatVersion: missing (not an sva-harness trace?)';
  if (version !== TRACE_FORMAT_VERSION) {
    return `formatVersion: unsupported version ${JSON.stringify(version)?.slice(0, 20)} (this harness reads version ${TRACE_FORMAT_VERSION})`;
  }
  const parsed = traceSchema.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return issue === undefined ? 'invalid trace' : describeIssue(issue, doc);
  }
  // Checked by the schema above; JSON cannot carry `undefined`, so the optional fields agree.
  const trace = doc as Trace;
  const topo = topologyError(trace.topology);
  if (topo !== undefined) return `topology: ${topo}`;
  for (const [i, cmd] of trace.commands.entries()) {
    const e = commandRangeError(cmd, trace.topology);
    if (e !== undefined) return `commands[${i}].${e} (step ${i})`;
  }
  const g = groupsError(trace);
  if (g !== undefined) return g;
  if (trace.steps.length > trace.commands.length) {
    return `steps: ${trace.steps.length} steps recorded for ${trace.commands.length} commands`;
  }
  const v = trace.violation;
  if (v !== undefined && (v.step < 0 || v.step >= trace.commands.length)) {
    return `violation.step: step ${v.step} out of range (the trace has ${trace.commands.length} commands)`;
  }
  return undefined;
};

/** Groups lie inside the command list, ascending and disjoint; switches ascend by point. */
const groupsError = (trace: Trace): string | undefined => {
  let end = 0;
  for (const [i, g] of (trace.groups ?? []).entries()) {
    if (g.at < end) return `groups[${i}].at: group at command ${g.at} overlaps or precedes the group before it (which ends at ${end})`;
    end = g.at + g.size;
    if (end > trace.commands.length) return `groups[${i}]: commands ${g.at}..${end - 1} out of range (the trace has ${trace.commands.length} commands)`;
    for (let k = 1; k < g.switches.length; k++) {
      if (g.switches[k]!.at <= g.switches[k - 1]!.at) return `groups[${i}].switches[${k}].at: switch points must ascend (${g.switches[k]!.at} after ${g.switches[k - 1]!.at})`;
    }
  }
  return undefined;
};
