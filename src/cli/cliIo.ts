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
}

export const processIo = (): CliIo => ({
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  tty: process.stderr.isTTY ? process.stderr : undefined,
  now: () => performance.now(),
});
