/** models/: the fast-check side. Other folders import only from here. */
export { SvaCommand, ViolationError, type Model } from './model.js';
export { svaCommand } from './commands/index.js';
export { DEFAULT_WEIGHTS, type Weights } from './weights.js';
export { topologyArb, topologyFor, pinnedDefault, type TopologyPins } from './topology.js';
export { RunStats, LENGTH_BUCKETS } from './stats.js';
export { checkProperty, DEFAULT_MAX_COMMANDS, type PropertyConfig, type PropertyOutcome } from './property.js';
export { harnessRunner, DEFAULT_SEED } from './runner.js';
export { CHUNK_RUNS, searchForViolation, type SearchBudget, type SearchOptions, type SearchResult } from './search.js';
export { faultInfo, faultPlatforms, parseFault, platformsForFault, replayOptions, unknownFault } from './fault.js';
export { isTestFaultName, registerTestFault, testFaultDriver, unregisterTestFault, type TestFaultDriver } from './testFaults.js';
export { DEFAULT_FIND_RUNS, findFault, type FaultFinding, type FindFaultOptions } from './findFault.js';
