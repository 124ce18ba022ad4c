/** src/impl: the ported kernel on the emulated hardware. Other folders import only from here. */
export { createWorld, slotState, type Fd, type SlotState, type World } from './world.js';
export { implStep } from './dispatch.js';
export { findLeaks, isHwptEntry, noBonds, type Leak, type LeakKind } from './quiesce.js';
export * from './core/index.js';
