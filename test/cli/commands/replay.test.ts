import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { harnessRunner } from '../../../models/index.js';
import type { HarnessRunner, ReplayResult } from '../../../src/harness/index.js';
import { defaultTopology } from '../../../src/shared/index.js';
import type { Command } from '../../../src/shared/index.js';
import { type Trace, formatTimeline, newTrace, writeTrace } from '../../../src/trace/index.js';
import { sampleTrace } from '../../trace/sampleTrace.js';
import { runMain } from '../captureIo.js';

const dir = mkdtempSync(join(tmpdir(), 'sva-replay-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const saved = join(dir, 't.json');
writeTrace(saved, sampleTrace());

const replaying = (result: ReplayResult): HarnessRunner => ({
  run: () => ({ ok: false, error: 'unused' }),
  replay: () => ({ ok: true, value: result }),
});

describe('replay', () => {
  test('Without a runner, replay still validates the trace, then says it is not wired (exit 2)', async () => {
    const r = await runMain(['replay', saved]);
    expect(r.code).toBe(2);
    expect(r.errLines).toHaveLength(1);
    expect(r.errLines[0]).toMatch(/^sva-harness replay: the harness runner is not wired yet/);
    const missing = await runMain(['replay', join(dir, 'none.json')]);
    expect(missing.errLines[0]).toMatch(/none\.json: cannot read: no such file or directory$/);
  });

  test('A reproduced violation prints the timeline, the violation block, the state diff and exits 1', async () => {
    const runner = replaying({ trace: sampleTrace(), stateBefore: { mm0: { pasid: 1, bonds: ['d0'] } }, stateAfter: { mm0: { pasid: 1, bonds: [] } } });
    const r = await runMain(['replay', saved], { runner });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(`${formatTimeline(sampleTrace())}
VIOLATION SVA001: no stale translation after unbind
  at step   #5 dma(d0,mm0,p1,w)
  found     dev0 reached mm0.p1#1 through PASID 1 after unbind
  objects
    dev0       struct device (harness device id = requester/stream id)
    mm0        struct mm_struct (mm slot)
    pasid 1    PASID (mm->iommu_mm->pasid)

spec state diff at step #5 (abstract view before → after):
  mm0.bonds[0]: "d0" → undefined
replay: violation SVA001 at step #5 (reproduced as recorded)
`);
  });

  test('A real fault\'s replay names the rule, its source, the fix, and the fixed kernel\'s commands beside the sent ones', async () => {
    const b14 = new URL('../../../regressions/B14-vtd-vfree-without-kva-flush.json', import.meta.url).pathname;
    const r = await runMain(['replay', '--quiet', b14], { runner: harnessRunner });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('VIOLATION I6: No stale translation');
    expect(r.stdout).toMatch(/\n {2}rule {6}When the secondary-TLB invalidation/);
    expect(r.stdout).toMatch(/\n {2}source {4}drivers\/iommu\/intel\/svm\.c/);
    expect(r.stdout).toContain('  fixed by  e37d5a2d60a3, CVE-2025-71202');
    expect(r.stdout).toContain('    dmar0      struct intel_iommu');
    // Nothing was sent with B14 on; the fixed kernel sends a P_IOTLB, a devTLB and a wait.
    expect(r.stdout).toMatch(/\n {4}\(nothing\) +\| vtd0: piotlb did=1 pasid=1 /);
    expect(r.stdout).toMatch(/\n +\| vtd0: wait\n/);
  });

  test('A replay that runs clean says the recorded violation did not reproduce and exits 0', async () => {
    const { violation: _, ...clean } = sampleTrace();
    const r = await runMain(['replay', '--quiet', saved], { runner: replaying({ trace: clean as Trace }) });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('replay: no violation (recorded: SVA001 at step #5: not reproduced)\n');
  });

  test('A replay that is clean only with known findings excused says so when the finding it then shows is not the recorded one', async () => {
    // A trace recorded before an oracle mend: its recorded REF no longer happens, and the
    // strict re-run shows the known finding vtd-iopf-remove-nonpri's splat instead.
    const upstream = new URL('../../../regressions/upstream/vtd-iopf-remove-nonpri.json', import.meta.url).pathname;
    const loaded = JSON.parse(readFileSync(upstream, 'utf8')) as Trace;
    const mended = join(dir, 'mended.json');
    expect(writeTrace(mended, { ...loaded, violation: { ...loaded.violation!, invariant: 'REF', step: 2 } }).ok).toBe(true);
    const r = await runMain(['replay', '--quiet', mended], { runner: harnessRunner });
    expect(r.code).toBe(1);
    expect(r.stdout.trim().split('\n').at(-1)).toBe('replay: violation I-SPLAT at step #2 (recorded: REF at step #2; with known findings excused it replays clean)');
    // The finding's own trace is reproduced as recorded, with no such remark.
    const own = await runMain(['replay', '--quiet', upstream], { runner: harnessRunner });
    expect(own.stdout.trim().split('\n').at(-1)).toBe('replay: violation I-SPLAT at step #2 (reproduced as recorded)');
  });

  test('A trace naming a test-only fault is one line and exit 2 through the real runner', async () => {
    const regression = new URL('../../fixtures/test-only-fault.trace.json', import.meta.url).pathname;
    const r = await runMain(['replay', regression], { runner: harnessRunner });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.errLines).toHaveLength(1);
    expect(r.errLines[0]).toMatch(/^sva-harness replay: [^ ]*test-only-fault.trace.json: the trace was recorded with the test-only fault 'test:no-secondary-tlb-flush'/);
  });

  test('A trace with a corpus fault replays through the real runner with the fault on', async () => {
    const path = join(dir, 'fault.json');
    const commands: Command[] = [{ kind: 'spawn', mm: 0 }, { kind: 'bind', dev: 0, mm: 0 }];
    writeTrace(path, newTrace({ topology: defaultTopology('vtd'), seed: 1, fault: 'B07', commands, steps: [] }));
    const r = await runMain(['replay', path], { runner: harnessRunner });
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('fault: B07');
    expect(r.stdout).toMatch(/\nreplay: (no violation|violation .*)\n$/);
  });

  test('A replay error (a precondition broken by a hand-edited trace) is one line and exit 2', async () => {
    const runner: HarnessRunner = { run: () => ({ ok: false, error: '' }), replay: () => ({ ok: false, error: "step 4: unbind(d0,mm0) without a bond" }) };
    const r = await runMain(['replay', saved], { runner });
    expect(r).toMatchObject({ code: 2, stdout: '', errLines: [`sva-harness replay: ${saved}: step 4: unbind(d0,mm0) without a bond`] });
  });
});
