export * from './cdTable.js';
export * from './streamTable.js';
export * from './commands.js';
export * from './cmdq.js';
export * from './configCache.js';
export * from './tlb.js';
export * from './walkCache.js';
export * from './smmuV3.js';
