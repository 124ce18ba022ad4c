import { describe, expect, test } from 'vitest';
import { IOPF_COUNT_APPLIES, IOPF_COUNT_NAMES, type IopfCounts, PLATFORMS, iopfCountApplies } from '../../src/shared/index.js';

const applying = (p: (typeof PLATFORMS)[number]): (keyof IopfCounts)[] =>
  (Object.keys(IOPF_COUNT_NAMES) as (keyof IopfCounts)[]).filter((k) => iopfCountApplies(p, k));

describe('which I/O page-fault counts each platform has', () => {
  test('VT-d has all five; SMMUv3 overflows and disables without PRI; AMD groups and overflows', () => {
    expect(applying('vtd')).toEqual(['multiGroups', 'overflows', 'drainsWithQueued', 'noHandler', 'disablesWithoutPri']);
    expect(applying('smmuv3')).toEqual(['overflows', 'disablesWithoutPri']);
    expect(applying('amd')).toEqual(['multiGroups', 'overflows']);
  });

  test('every count a platform lacks says why', () => {
    for (const p of PLATFORMS) {
      for (const k of Object.keys(IOPF_COUNT_NAMES) as (keyof IopfCounts)[]) {
        const a = IOPF_COUNT_APPLIES[p][k];
        if (a !== true) expect(a.length, `${p} ${k}`).toBeGreaterThan(20);
      }
    }
  });
});
