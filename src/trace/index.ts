/** The trace format: the only entry other folders import from src/trace. */
export type { Checked } from './checked.js';
export { bad, good, messageLines, oneLine } from './checked.js';
export type { GroupEvent, Trace, TraceGroup, TracePoint, TraceStep, TraceSwitch, TraceTask, TraceViolation } from './trace.js';
export { newTrace } from './trace.js';
export { TRACE_FORMAT_VERSION, harnessVersion } from './version.js';
export { TraceEventLog } from './eventLog.js';
export { MAX_TRACE_BYTES, parseJsonText } from './jsonText.js';
export { parseTrace, traceProblem } from './validate.js';
export { serializeTrace, stableJson } from './serialize.js';
export {
  FALLBACK_TRACES_DIR, TEMP_FILE, atomicTempPath, fsReason, loadTrace, makeDirectories, readTextFile, saveTrace, traceFileName, writeFileAtomic, writeTrace,
} from './io.js';
export {
  formatCommand, formatEvent, formatHeader, formatObservation, formatStepLine, formatTimeline, formatViolation, timelineLines,
} from './timeline.js';
export { type SequenceItem, type SequenceStep, escapeMermaid, laneLabel, sequenceModel, traceToMermaid, violationNote } from './mermaid.js';
export { diffJson, formatJsonValue, naturalCompare } from './diff.js';
export { counterexampleKey } from './dedupKey.js';
