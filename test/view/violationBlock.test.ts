import { describe, expect, test } from 'vitest';
import { harnessRunner } from '../../models/index.js';
import { INVARIANTS } from '../../properties/registry.js';
import { fixedRun } from '../../src/cli/fixedRun.js';
import { loadTrace } from '../../src/trace/index.js';
import type { Trace } from '../../src/trace/index.js';
import { hardwareComparison, kernelName, ruleOf, violationBlock } from '../../src/view/index.js';

const example = (name: string): Trace => {
  const t = loadTrace(new URL(`../../docs/counterexamples/${name}.json`, import.meta.url).pathname);
  if (!t.ok) throw new Error(t.error);
  return t.value;
};

describe('The violation block', () => {
  test('B07 on VT-d: the rule and source of I7, the fault\'s fix, and a second-stage flush sent where the fixed kernel sends P_IOTLB', () => {
    const t = example('B07-vtd');
    const block = violationBlock(t, fixedRun(harnessRunner, t)).join('\n');
    const i7 = INVARIANTS.find((i) => i.id === 'I7')!;
    expect(block).toContain(`  rule      ${i7.kernelRule}`);
    expect(block).toContain(`  source    ${i7.source}`);
    expect(block).toContain('  fault     B07: SVA domains get second-stage IOTLB flushes');
    expect(block).toContain('  fixed by  04b1b069f151 (Dec 2025)');
    // A second-stage (PASID-less) IOTLB flush where the fix sends a PASID-based one.
    expect(block).toMatch(/\n {4}vtd0: iotlb_(psi|dsi) did=1 [^|]*\| vtd0: piotlb did=1 pasid=1/);
  });

  test('A message on several lines (a non-linearizable history) keeps its lines, each made printable', () => {
    const t = example('B14-vtd');
    const lin: Trace = { ...t, violation: { ...t.violation!, invariant: 'LIN', message: 'not linearizable\n  bind ; unbind: illegal\n  x\u001b[2Jy' } };
    const block = violationBlock(lin);
    const at = block.findIndex((l) => l.startsWith('  found'));
    expect(block.slice(at, at + 3)).toEqual(['  found     not linearizable', '              bind ; unbind: illegal', '              x [2Jy']);
  });

  test('B11 on SMMUv3: one TLBI too many beside the fixed kernel\'s single page', () => {
    const t = example('B11-smmuv3');
    const hw = hardwareComparison(t, fixedRun(harnessRunner, t))!;
    const tlbi = (l: readonly string[]): number => l.filter((x) => x.includes('TLBI_NH_VA')).length;
    expect(tlbi(hw.sent)).toBe(tlbi(hw.required!) + 1);
  });

  test('Without a fault only what was sent is shown; a rule not about invalidations shows no commands', () => {
    const { fault: _f, ...t } = example('B14-vtd');
    const block = violationBlock(t as Trace);
    expect(block.some((l) => l.includes('required'))).toBe(false);
    expect(block).toContain('    sent: (nothing)');
    const obs: Trace = { ...(t as Trace), violation: { ...t.violation!, invariant: 'OBS', title: '' } };
    expect(hardwareComparison(obs, undefined)).toBeUndefined();
    expect(violationBlock(obs).join('\n')).toMatch(/rule {6}Every call returns what the reference spec predicts/);
  });

  test('Objects carry their kernel names on the trace\'s platform', () => {
    expect(kernelName('vtd', 'iommu')).toMatch(/struct intel_iommu/);
    expect(kernelName('smmuv3', 'iommu')).toMatch(/struct arm_smmu_device/);
    expect(kernelName('vtd', 'mm')).toMatch(/struct mm_struct/);
    expect(ruleOf('no-such-rule')).toBeUndefined();
  });
});
