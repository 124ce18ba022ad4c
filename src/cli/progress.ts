import type { Progress } from '../harness/index.js';

/** `1234567` → `1,234,567`, without a locale (output must not depend on the environment). */
export const groupDigits = (n: number): string => String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

export const stepsPerSecond = (steps: number, elapsedMs: number): number => (elapsedMs > 0 ? (steps * 1000) / elapsedMs : 0);

/**
 * One progress line, at most `width` columns:
 * `vtd     [########------------]  40%  run 412  1,234,567 steps  183,204 steps/s  0 violations`.
 */
export const renderProgress = (p: Progress, width = 100): string => {
  const done = Math.min(1, Math.max(0, p.done));
  const bar = 20;
  const fill = Math.floor(done * bar);
  const parts = [
    p.platform.padEnd(7),
    `[${'#'.repeat(fill)}${'-'.repeat(bar - fill)}]`,
    `${String(Math.floor(done * 100)).padStart(3)}%`,
    `run ${p.runs}`,
    `${groupDigits(p.steps)} steps`,
    `${groupDigits(stepsPerSecond(p.steps, p.elapsedMs))} steps/s`,
    `${p.violations} violation${p.violations === 1 ? '' : 's'}`,
  ];
  const line = parts.join('  ');
  return line.length <= width ? line : line.slice(0, Math.max(0, width - 1));
};

export interface ProgressReporter {
  readonly update: (p: Progress) => void;
  /** Erase the bar, so the summary that follows starts on a clean line. */
  readonly done: () => void;
}

/**
 * Redraws the line on a terminal at most every `intervalMs`; undefined when stderr is not a
 * terminal (piped output and CI logs get no carriage-return noise).
 */
export const createProgressReporter = (
  tty: { write(text: string): unknown; readonly columns?: number } | undefined,
  now: () => number,
  intervalMs = 100,
): ProgressReporter | undefined => {
  if (tty === undefined) return undefined;
  let last = -Infinity;
  let drawn = false;
  return {
    update: (p) => {
      const t = now();
      if (t - last < intervalMs && p.done < 1) return;
      last = t;
      drawn = true;
      tty.write(`\r${renderProgress(p, (tty.columns ?? 100) - 1)}\x1b[K`);
    },
    done: () => {
      if (drawn) tty.write('\r\x1b[K');
      drawn = false;
    },
  };
};
