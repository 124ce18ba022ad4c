export * from './errno.js';
export * from './layout.js';
export * from './command.js';
export * from './observation.js';
export * from './topology.js';
export * from './lane.js';
export * from './fault.js';
export * from './pri.js';
