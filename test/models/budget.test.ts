import { describe, expect, test } from 'vitest';
import { suiteRuns } from './budget.js';

describe('Model suite budgets', () => {
  test('npm test runs half the soak budget (rounded up); SVA_SOAK=k runs k times all of it', () => {
    expect([suiteRuns(1850, {}), suiteRuns(921, {}), suiteRuns(920, { SVA_SOAK: '' })]).toEqual([925, 461, 460]);
    expect([suiteRuns(1850, { SVA_SOAK: '1' }), suiteRuns(920, { SVA_SOAK: '4' })]).toEqual([1850, 3680]);
  });

  test('A malformed SVA_SOAK is refused by name, not read as another budget', () => {
    for (const bad of ['0', '-1', '1.5', 'yes', '1001']) expect(() => suiteRuns(920, { SVA_SOAK: bad })).toThrow(`SVA_SOAK must be a whole number from 1 to 1000, got '${bad}'`);
  });
});
