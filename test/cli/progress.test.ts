import { describe, expect, test } from 'vitest';
import { createProgressReporter, groupDigits, renderProgress } from '../../src/cli/progress.js';
import type { Progress } from '../../src/harness/index.js';

const p: Progress = { platform: 'smmuv3', runs: 412, steps: 1234567, violations: 1, done: 0.4, elapsedMs: 10_000 };

describe('progress bar', () => {
  test('One line with the bar, percentage, runs, steps, steps/s and violations', () => {
    expect(renderProgress(p)).toBe('smmuv3   [########------------]   40%  run 412  1,234,567 steps  123,457 steps/s  1 violation');
    expect(renderProgress(p, 30)).toHaveLength(29);
    expect(groupDigits(999)).toBe('999');
    expect(groupDigits(1000)).toBe('1,000');
  });

  test('Redraws are throttled on a terminal and there is no reporter without one', () => {
    expect(createProgressReporter(undefined, () => 0)).toBeUndefined();
    let t = 0;
    const writes: string[] = [];
    const r = createProgressReporter({ write: (s: string) => writes.push(s) }, () => t, 100)!;
    r.update(p);
    t = 50;
    r.update(p);
    t = 150;
    r.update(p);
    expect(writes).toHaveLength(2);
    expect(writes[0]!.startsWith('\rsmmuv3')).toBe(true);
    r.done();
    expect(writes.at(-1)).toBe('\r\x1b[K');
  });
});
