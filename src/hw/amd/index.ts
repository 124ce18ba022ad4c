export * from './commands.js';
export * from './cmdBuf.js';
export * from './devTable.js';
export * from './logs.js';
export * from './unit.js';
