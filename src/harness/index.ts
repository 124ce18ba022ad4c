/** src/harness: the checked step and sessions; the only entry other folders import. */
export { DRIVERS, driverFor } from './platforms.js';
export { type KnownHit, type Session, type SessionOptions, openSession } from './session.js';
export { checkedStep, injectedExpectation, injectionArmed, stepBoth } from './step.js';
export { type SequenceOptions, type SequenceResult, replayTrace, runSequence } from './sequence.js';
export { EXC_ID, LOCKUP_ID, OBS_ID, commandObjects, firstLine, invariantTitle, toTraceViolation } from './violation.js';
export { minimizeCommands, minimizeCounterexample } from './minimize.js';
export type { StepWatch } from './watch.js';
export type { Budget, HarnessRunner, PlatformRunSummary, Progress, ReplayResult, RunOptions, RunSummary, StopReason, TopologyChoice } from './runner.js';
export type {
  ExploreOptions, ExploreOrder, ExploreProgress, ExploreScope, ExploreSummary, HarnessExplorer, PlatformExploreSummary,
} from './explorer.js';
export { DEFAULT_EXPLORE_SCOPE } from './explorer.js';
export { excuseKnown } from './known.js';
export { DEFAULT_PCT_DEPTH, type GroupSchedule, LIN_ID, MAX_GROUP, checkedGroup, groupLegal } from './group.js';
export { exploreGroup } from './groupExplore.js';
export { AT_YIELD, type AtYieldCheck } from './atYield.js';
export type { MemberTask } from './session.js';
