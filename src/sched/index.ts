/** The schedulers (issue 11): group runner, policies, exhaustive explorer, linearizability. */
export * from './types.js';
export { runGroup } from './group.js';
export { defaultPolicy, replayPolicy, randomPolicy, pctPolicy } from './policies.js';
export { explorePreemptionBounded } from './exhaustive.js';
export { linearize } from './linearize.js';
