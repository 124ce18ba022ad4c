import { describe, expect, test } from 'vitest';
import { harnessRunner } from '../../../models/index.js';
import { INVARIANTS } from '../../../properties/registry.js';
import { FAULTS } from '../../../src/shared/index.js';
import { runMain } from '../captureIo.js';

describe('faults and invariants', () => {
  test('faults lists every corpus fault with its platforms, fix and whether it is represented', async () => {
    const r = await runMain(['faults']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    for (const f of FAULTS) {
      const row = r.stdout.split('\n').find((l) => l.startsWith(`${f.id} `));
      expect(row, f.id).toBeDefined();
      expect(row).toContain(f.fix);
      expect(row).toContain(f.title);
      expect(row).toMatch(f.notRepresented === undefined ? / yes / : / no /);
    }
    // B06 was the one unrepresented fault until second-stage paging domains reached it.
    expect(r.stdout).not.toMatch(/\nB06 is not represented/);
  });

  test('invariants lists every registered rule with its kernel rule and source, and the runner\'s own', async () => {
    const r = await runMain(['invariants']);
    expect(r.code).toBe(0);
    for (const inv of INVARIANTS) {
      expect(r.stdout).toContain(`${inv.id}  ${inv.title}\n  kernel rule: ${inv.kernelRule}\n  source: ${inv.source}\n`);
    }
    expect(r.stdout).toMatch(/\nOBS {2}the observation refines the spec\n/);
    expect(r.stdout).toMatch(/\nEXC {2}no exception out of the kernel logic\n/);
  });

  test('run --fault B06 (represented since second-stage paging domains) prints no not-represented note', async () => {
    const r = await runMain(['run', '--fault', 'B06', '--runs', '1', '--traces', '/nonexistent-not-written'], { runner: harnessRunner });
    expect(r.errLines.some((l) => /not represented/.test(l))).toBe(false);
  });
});
