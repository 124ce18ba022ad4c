/** What other folders may import from the CLI: the entry point and its renderers. */
export { createProgressReporter, renderProgress } from './progress.js';
export type { ProgressReporter } from './progress.js';
export { formatRunSummary } from './summary.js';
export { main, runCli } from './main.js';
export type { CliIo } from './cliIo.js';
export { EXIT_INTERNAL, EXIT_OK, EXIT_USAGE, EXIT_VIOLATION } from './exit.js';
export { runSelfcheck } from './selfcheck.js';
