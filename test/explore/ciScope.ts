/**
 * One platform's CI explore scope, checked against its recorded counts. Each platform has a
 * file of its own (ciScopes.<platform>.test.ts) so the three searches, 10–20 s of CPU each, run
 * on different workers; ciScopes.test.ts checks that every platform has both.
 */
import { expect } from 'vitest';
import { CI_SCOPES, exploreTopology, scopeTopology } from '../../src/explore/index.js';
import type { Platform } from '../../src/shared/index.js';

export const CI_SCOPE_TEST = 'every sequence to the recorded depth is clean, with exactly the recorded distinct states';

export const checkCiScope = (platform: Platform): void => {
  const ci = CI_SCOPES[platform];
  if (ci === undefined) throw new Error(`no CI explore scope for ${platform}: add one to src/explore/ciScopes.ts with its measured counts`);
  const t = scopeTopology(platform, ci.scope);
  if (!t.ok) throw new Error(t.error);
  const started = performance.now();
  const r = exploreTopology(t.value, { depth: ci.depth, ...(ci.kinds === undefined ? {} : { kinds: ci.kinds }) });
  const s = (performance.now() - started) / 1000;
  console.log(`[explore] ${platform} CI scope depth ${ci.depth}: ${r.distinctStates} distinct states, ${r.transitions} transitions, ${s.toFixed(1)} s`);
  expect(r.violation).toBeUndefined();
  expect(r.depthComplete).toBe(ci.depth);
  expect({ distinctStates: r.distinctStates, transitions: r.transitions })
    .toEqual({ distinctStates: ci.distinctStates, transitions: ci.transitions });
};
