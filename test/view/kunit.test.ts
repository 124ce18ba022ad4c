import { describe, expect, test } from 'vitest';
import { loadTrace } from '../../src/trace/index.js';
import { traceToKunit } from '../../src/view/kunit.js';
import { runMain } from '../cli/captureIo.js';

const file = (name: string): string => new URL(`../../docs/counterexamples/${name}.json`, import.meta.url).pathname;

describe('KUnit export', () => {
  test('B14: the sequence with the kernel\'s calls, an expectation per step and the violation where it happened', () => {
    const t = loadTrace(file('B14-vtd'));
    if (!t.ok) throw new Error(t.error);
    const c = traceToKunit(t.value, 'B14-vtd.json');
    expect(c).toMatch(/^\/\/ SPDX-License-Identifier: GPL-2\.0\n/);
    expect(c).toContain(' * Fault B14: kernel page-table pages freed without flushing SVA paging caches; fixed by e37d5a2d60a3, CVE-2025-71202.');
    for (const [i, cmd] of t.value.commands.entries()) expect(c).toContain(`\t/* step ${i}: `), expect(cmd).toBeDefined();
    expect(c).toContain('iommu_sva_bind_device(r->dev[0], r->mm[0]);');
    expect(c).toContain('r->pasid[0] = iommu_sva_get_pasid(r->handle[0][0]);\n\tKUNIT_EXPECT_NE(test, r->pasid[0], IOMMU_PASID_INVALID);');
    // The DMA goes through the mm's PASID, valid or not: a DMA before bind must fault, not crash.
    expect(c).toContain('sva_repro_dma(r->dev[0], r->pasid[0], (unsigned long)r->kpage[0], false);');
    expect(c).toContain('\tvfree(r->kpage[0]);\n\t/*\n\t * The harness\'s kernel broke I6 here:');
    expect(c).toContain('kunit_test_suite(sva_repro_suite);');
    // Plain ASCII C with balanced braces and comments.
    expect(c).toMatch(/^[\x09\x0a\x20-\x7e]*$/);
    expect((c.match(/\{/g) ?? []).length).toBe((c.match(/\}/g) ?? []).length);
    expect((c.match(/\/\*/g) ?? []).length).toBe((c.match(/\*\//g) ?? []).length);
  });

  test('The export command writes it to stdout and refuses an unknown format', async () => {
    const r = await runMain(['export', file('B11-smmuv3')]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toContain('ret = sva_repro_touch(r->mm[0], SVA_REPRO_PAGE(0), false);');
    expect(r.stdout).toContain('ret = sva_repro_mprotect(r->mm[0], SVA_REPRO_PAGE(0), PROT_READ); /* TODO: helper */');
    expect(r.stdout).toContain('KUNIT_EXPECT_EQ(test, ret, 0);');
    const bad = await runMain(['export', '--format', 'kselftest', file('B11-smmuv3')]);
    expect(bad).toMatchObject({ code: 2, errLines: [expect.stringMatching(/^sva-harness export: bad --format/)] });
  });
});
