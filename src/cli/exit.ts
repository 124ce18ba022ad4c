/**
 * Exit codes of `sva-harness`. 70 is sysexits.h EX_SOFTWARE: a bug of the harness itself,
 * reported as one line rather than a stack trace.
 */
export const EXIT_OK = 0;
/** A violation was found (run) or reproduced (replay); selfcheck failed. */
export const EXIT_VIOLATION = 1;
/** Bad input: usage, option values, an invalid trace file. */
export const EXIT_USAGE = 2;
export const EXIT_INTERNAL = 70;
/** Stopped by SIGINT / SIGTERM (128 + the signal number, as a shell reports it). */
export const EXIT_SIGINT = 130;
export const EXIT_SIGTERM = 143;

export type ExitCode = typeof EXIT_OK | typeof EXIT_VIOLATION | typeof EXIT_USAGE | typeof EXIT_INTERNAL | typeof EXIT_SIGINT | typeof EXIT_SIGTERM;
