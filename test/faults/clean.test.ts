import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { PLATFORMS } from '../../src/shared/index.js';

describe('The correct impl is checked under the fault tests\' budget on every platform', () => {
  test.each(PLATFORMS)('%s has its clean.<platform>.test.ts', (platform) => {
    const file = new URL(`./clean.${platform}.test.ts`, import.meta.url);
    expect(existsSync(file), `add test/faults/clean.${platform}.test.ts (a copy of another platform's)`).toBe(true);
    expect(readFileSync(file, 'utf8')).toContain(`cleanUnderFaultBudget('${platform}')`);
  });
});
