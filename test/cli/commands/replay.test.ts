import { mkdtempSync, rmSync } from 'node:fs';
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

  test('A reproduced violation prints the timeline, the state diff and exits 1', async () => {
    const runner = replaying({ trace: sampleTrace(), stateBefore: { mm0: { pasid: 1, bonds: ['d0'] } }, stateAfter: { mm0: { pasid: 1, bonds: [] } } });
    const r = await runMain(['replay', saved], { runner });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(`${formatTimeline(sampleTrace())}state diff at step #5:
  mm0.bonds[0]: "d0" → undefined
replay: violation SVA001 at step #5 (reproduced as recorded)
`);
  });

  test('A replay that runs clean says the recorded violation did not reproduce and exits 0', async () => {
    const { violation: _, ...clean } = sampleTrace();
    const r = await runMain(['replay', '--quiet', saved], { runner: replaying({ trace: clean as Trace }) });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('replay: no violation (recorded: SVA001 at step #5: not reproduced)\n');
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
