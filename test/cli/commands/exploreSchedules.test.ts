import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { harnessRunner } from '../../../models/runner.js';
import { loadTrace, serializeTrace } from '../../../src/trace/index.js';
import { groupTrace } from '../../view/groupTrace.js';
import { runMain } from '../captureIo.js';

const dir = mkdtempSync(join(tmpdir(), 'sva-explore-schedules-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('explore-schedules', () => {
  test('a clean group: every schedule within the bound runs, none fails, exit 0', async () => {
    const p = file('clean.json', serializeTrace(groupTrace()));
    const r = await runMain(['explore-schedules', p, '--preemptions', '1']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^explore-schedules: group #2\.\.#4 \(3 tasks\), at most 1 preemption\(s\): \d+ schedule\(s\) explored, all of them, none fails\n$/);
    // The members stop at their real yield points (iommu_sva_lock, &group->mutex, the driver's
    // locks and stores): the count is recorded, and changes when a yield point is added or removed.
    // 86 while VT-d's set_dev_pasid, cache tags and QI ran bridged and the touch had no
    // mmap_lock; 304 since both yield (issue 11); 328 since the driver's bind and unbind take
    // &uacce->mutex.
    expect(r.stdout).toContain(': 328 schedule(s)');
  });

  test('a group that fails under a fault: the first failing schedule is written and replays to the same violation', async () => {
    // B07 (VT-d): the write touch after a read touch of a bound mm breaks I7; as a group of the two
    // touches it fails under the first schedule already.
    const base = loadTrace(new URL('../../../docs/counterexamples/B07-vtd.json', import.meta.url).pathname);
    expect(base.ok).toBe(true);
    if (!base.ok) return;
    const { violation: _v, ...rest } = base.value;
    const grouped = { ...rest, groups: [{ at: 3, size: 2, scheduler: 'replay' as const, seed: 0, switches: [] }] };
    const p = file('b07.json', serializeTrace(grouped));
    const out = join(dir, 'b07-fail.json');
    const r = await runMain(['explore-schedules', p, '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/schedule 1 fails with I7/);
    expect(r.stdout).toContain(`failing schedule written to ${out}`);
    const saved = JSON.parse(readFileSync(out, 'utf8')) as { groups: { scheduler: string }[]; violation: { invariant: string } };
    expect(saved.groups[0]!.scheduler).toBe('exhaustive');
    expect(saved.violation.invariant).toBe('I7');
    const again = await runMain(['replay', out, '--quiet'], { runner: harnessRunner });
    expect(again.code).toBe(1);
    expect(again.stdout).toContain('reproduced as recorded');
  });

  test('bad input: one error line, exit 2', async () => {
    const noGroup = file('nogroup.json', serializeTrace({ ...groupTrace(), groups: [] }));
    const { groups: _g, ...plain } = groupTrace();
    const seq = file('seq.json', serializeTrace(plain));
    const cases: [string[], RegExp][] = [
      [['explore-schedules', join(dir, 'missing.json')], /missing\.json/],
      [['explore-schedules', seq], /no concurrent group/],
      [['explore-schedules', seq, '--preemptions', '-1'], /--preemptions/],
      [['explore-schedules', seq, '--limit', '0'], /--limit/],
    ];
    for (const [argv, re] of cases) {
      const r = await runMain(argv);
      expect([argv, r.code]).toEqual([argv, 2]);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(re);
    }
    expect(noGroup).toBeTruthy();
  });

  test('listed in the help', async () => {
    const r = await runMain(['--help']);
    expect(r.stdout).toContain('explore-schedules');
  });
});
