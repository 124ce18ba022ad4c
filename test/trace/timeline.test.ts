import { describe, expect, test } from 'vitest';
import type { Command } from '../../src/shared/index.js';
import { formatCommand, formatObservation, formatTimeline } from '../../src/trace/index.js';
import { sampleTrace } from './sampleTrace.js';

describe('text timeline', () => {
  test('Commands print as replayable calls', () => {
    const calls: [Command, string][] = [
      [{ kind: 'bind', dev: 0, mm: 1 }, 'bind(d0,mm1)'],
      [{ kind: 'unbind', dev: 1, mm: 0 }, 'unbind(d1,mm0)'],
      [{ kind: 'dma', dev: 2, mm: 0, page: 3, write: true }, 'dma(d2,mm0,p3,w)'],
      [{ kind: 'mmap', mm: 0, first: 1, count: 3, prot: 'rw' }, 'mmap(mm0,p1..p3,rw)'],
      [{ kind: 'mmap', mm: 0, first: 2, count: 1, prot: 'r' }, 'mmap(mm0,p2,r)'],
      [{ kind: 'munmap', mm: 1, first: 0, count: 2 }, 'munmap(mm1,p0..p1)'],
      [{ kind: 'touch', mm: 1, page: 0, write: false }, 'touch(mm1,p0,r)'],
      [{ kind: 'mprotect', mm: 0, page: 4, prot: 'none' }, 'mprotect(mm0,p4,none)'],
      [{ kind: 'prefetch', dev: 3, mm: 2, page: 1 }, 'prefetch(d3,mm2,p1)'],
      [{ kind: 'exit', mm: 0 }, 'exit(mm0)'],
      [{ kind: 'mmdrop', mm: 0 }, 'mmdrop(mm0)'],
      [{ kind: 'fork', mm: 0, child: 2 }, 'fork(mm0,mm2)'],
      [{ kind: 'spawn', mm: 1 }, 'spawn(mm1)'],
      [{ kind: 'gracePeriod' }, 'gracePeriod()'],
      [{ kind: 'vmalloc', kpage: 1 }, 'vmalloc(k1)'],
      [{ kind: 'vfree', kpage: 0 }, 'vfree(k0)'],
      [{ kind: 'failNext', site: 'kzalloc@iommu_alloc_mm_data' }, 'failNext(kzalloc@iommu_alloc_mm_data)'], [{ kind: 'failNth', n: 3 }, 'failNth(3)'],
    ];
    for (const [cmd, text] of calls) expect(formatCommand(cmd)).toBe(text);
  });

  test('Observations print in the command\'s terms', () => {
    expect(formatObservation({ kind: 'bind', dev: 0, mm: 0 }, { ok: true, value: 3 })).toBe('pasid 3');
    expect(formatObservation({ kind: 'fork', mm: 0, child: 1 }, { ok: true, value: 1 })).toBe('mm1');
    expect(formatObservation({ kind: 'dma', dev: 0, mm: 0, page: 1, write: false }, { ok: true, value: 145 })).toBe('mm0.p1#1');
    expect(formatObservation({ kind: 'dma', dev: 0, mm: 0, page: 1, write: false }, { ok: false, errno: 'EFAULT', fault: 'vtd0: not-present' }))
      .toBe('EFAULT (vtd0: not-present)');
    expect(formatObservation({ kind: 'bind', dev: 0, mm: 0 }, { ok: false, errno: 'ENOSPC' })).toBe('ENOSPC');
  });

  test('The timeline marks the mismatch and the violation and indents events', () => {
    expect(formatTimeline(sampleTrace())).toBe(`\
trace format 1 · sva-harness 0.0.0-test · seed 42
topology: vtd, 1 IOMMU(s), 4 device(s), 2 mm slot(s), 4 page(s), 1 kernel page(s), 4-level page tables
#0 mmap(mm0,p0..p1,rw) → ok | expected ok
#1 bind(d0,mm0) → pasid 1 | expected pasid 1
    core   sva: iommu_alloc_mm_data pasid 1
    queue  vtd0: pc_inv did 1 pasid 1
#2 touch(mm0,p1,w) → ok | expected ok
#3 dma(d0,mm0,p1,r) → mm0.p1#1 | expected mm0.p1#1
#4 unbind(d0,mm0) → ok | expected ok
    driver intel-svm: remove_dev_pasid <skipped>
#5 dma(d0,mm0,p1,w) → mm0.p1#1 | expected EFAULT  ✗ MISMATCH
    cache  dev0: atc hit pasid 1; vpn 40001
  ✗ VIOLATION SVA001 (no stale translation after unbind) at step #5: dev0 reached mm0.p1#1 through PASID 1 after unbind [dev=0 mm=0 pasid=1]
6 step(s), violation SVA001 at step #5
`);
  });

  test('A violation message on several lines prints them indented under the violation, none at a step\'s column', () => {
    const t = sampleTrace();
    const lines = formatTimeline({ ...t, violation: { ...t.violation!, message: 'not linearizable\n#6 bind(d0,mm0) → ok\n  a\u0007b' } }).split('\n');
    const at = lines.findIndex((l) => l.startsWith('  ✗ VIOLATION'));
    expect(lines[at]).toBe('  ✗ VIOLATION SVA001 (no stale translation after unbind) at step #5: not linearizable [dev=0 mm=0 pasid=1]');
    expect(lines.slice(at + 1, at + 3)).toEqual(['      #6 bind(d0,mm0) → ok', '        a b']);
  });

  test('Steps not run, a fault name and hostile newlines stay one line each', () => {
    const { violation: _, ...t } = sampleTrace();
    const lines = formatTimeline({ ...t, fault: 'skip-atc\ninv', commands: t.commands.slice(0, 2), steps: t.steps.slice(0, 1) }).split('\n');
    expect(lines.slice(2)).toEqual([
      'fault: skip-atc inv',
      '#0 mmap(mm0,p0..p1,rw) → ok | expected ok',
      '#1 bind(d0,mm0) (not run)',
      '2 step(s), no violation',
      '',
    ]);
  });
});
