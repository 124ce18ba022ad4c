/** src/view: what a kernel developer reads of a counterexample (text, HTML, KUnit). */
export { kernelName, objectLabel } from './kernelNames.js';
export { type HardwareComparison, type RuleText, hardwareComparison, objectLines, ruleOf, violationBlock } from './violationBlock.js';
export { type StateDiff, formatStateDiff, relevantStateDiff } from './stateDiff.js';
