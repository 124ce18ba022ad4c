import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { CI_SCOPES } from '../../src/explore/index.js';
import { PLATFORMS } from '../../src/shared/index.js';

describe('CI explore scopes: every platform has one, and a test file that checks it', () => {
  test.each(PLATFORMS)('%s: a recorded scope, and its ciScopes.<platform>.test.ts', (platform) => {
    expect(CI_SCOPES[platform], `add a CI explore scope for ${platform} to src/explore/ciScopes.ts with its measured counts`).toBeDefined();
    const file = new URL(`./ciScopes.${platform}.test.ts`, import.meta.url);
    expect(existsSync(file), `add test/explore/ciScopes.${platform}.test.ts (a copy of another platform's)`).toBe(true);
    expect(readFileSync(file, 'utf8')).toContain(`checkCiScope('${platform}')`);
  });
});
