/** src/harness: the checked step and sessions; the only entry other folders import. */
export { DRIVERS, driverFor } from './platforms.js';
export { type KnownHit, type Session, type SessionOptions, openSession } from './session.js';
export { checkedStep, injectionArmed, stepBoth } from './step.js';
export { type SequenceOptions, type SequenceResult, replayTrace, runSequence } from './sequence.js';
export { EXC_ID, OBS_ID, commandObjects, firstLine, invariantTitle, toTraceViolation } from './violation.js';
export { minimizeCommands } from './minimize.js';
export type { Budget, HarnessRunner, PlatformRunSummary, Progress, ReplayResult, RunOptions, RunSummary, TopologyChoice } from './runner.js';
export { excuseKnown } from './known.js';
