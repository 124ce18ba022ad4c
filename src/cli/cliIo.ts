/**
 * Everything the CLI touches outside itself, injected so tests run `main` in-process with
 * captured output instead of spawning processes.
 */
export interface CliIo {
  /** stdout: results (timelines, diagrams, the summary table). */
  readonly out: (text: string) => void;
  /** stderr: the one-line errors and notes. */
  readonly err: (text: string) => void;
  /** stderr when it is a terminal, for the progress bar; undefined when piped or captured. */
  readonly tty: { write(text: string): unknown; readonly columns?: number } | undefined;
  /** A wall clock in ms, for progress display only; never for a decision. */
  readonly now: () => number;
  /**
   * Route SIGINT and SIGTERM to `handler` while a run lasts; returns the unsubscribe. Absent
   * where no signal can arrive (tests running `main` in-process).
   */
  readonly onSignal?: (handler: (signal: Signal) => void) => () => void;
}

export type Signal = 'SIGINT' | 'SIGTERM';

export const processIo = (): CliIo => ({
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  tty: process.stderr.isTTY ? process.stderr : undefined,
  now: () => performance.now(),
  onSignal: (handler) => {
    let seen = false;
    const on = (signal: Signal): void => {
      // A second Ctrl-C means now: the conventional status, without the summary.
      if (seen) process.exit(signal === 'SIGINT' ? 130 : 143);
      seen = true;
      handler(signal);
    };
    const int = (): void => on('SIGINT');
    const term = (): void => on('SIGTERM');
    process.on('SIGINT', int);
    process.on('SIGTERM', term);
    return () => {
      process.off('SIGINT', int);
      process.off('SIGTERM', term);
    };
  },
});
