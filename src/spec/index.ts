/**
 * src/spec: the reference spec of the SVA lifecycle. Imports only src/shared and xstate.
 *
 *   const s = initSpec(topology, new CoverageRecorder());
 *   if (precondition(s, cmd)) { const expected = specStep(s, cmd); ... }   // mutates s
 *   abstractView(s)  // compare with the impl's abstraction (view.ts documents the shape)
 */
export { initSpec, cloneSpec, inMask, MM, ALL_THREAD_POINTS } from './state.js';
export type { SpecState, SpecSlot, SpecDomain, SpecHandle, SpecTopo } from './state.js';
export { specStep } from './step.js';
export { allocatesFirst, bindPasidWindow, bindPointsBegin, bindPointsEnd, bindSetUpWindows, bindUnlockedWindow, linPoints, servicePasses, serviceThreadPoints, specPoint } from './points.js';
export { ATTACH_SITES } from './attaching.js';
export { beginRestall, restallPossible, workItemsPossible } from './pri.js';
export { precondition } from './precondition.js';
export { abstractView, diffViews } from './view.js';
export type { AbstractView, SlotView, PageView, DomainView, HandleView, BondView } from './view.js';
export { CoverageRecorder, formatTransition } from './coverage.js';
export { toMermaid } from './mermaid.js';
export {
  mmMachine, pasidMachine, bondMachine, domainMachine, MACHINES, ALL_TRANSITIONS,
  mmTable, pasidTable, bondTable, domainTable, CompiledMachine,
} from './machines/index.js';
export type {
  Instance, TransitionInfo, TransitionSink, MmState, MmEvent, PasidState, PasidEvent,
  BondState, BondEvent, DomainState, DomainEvent,
} from './machines/index.js';
