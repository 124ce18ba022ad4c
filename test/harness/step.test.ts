import { describe, expect, test } from 'vitest';
import type { Co } from '../../src/impl/core/sched.js';
import type { IommuDomain } from '../../src/impl/core/types.js';
import type { Result } from '../../src/shared/index.js';
import { EXC_ID, OBS_ID, checkedStep, driverFor, openSession } from '../../src/harness/index.js';
import type { IommuDriver } from '../../src/impl/index.js';
import { defaultTopology } from '../../src/shared/index.js';
import type { Command } from '../../src/shared/index.js';

const t = defaultTopology('vtd');
const run = (s: ReturnType<typeof openSession>, cmds: readonly Command[]) => cmds.map((c) => checkedStep(s, c));

describe('The checked step', () => {
  test('Records the command and both observations, with no events on the hot path', () => {
    const s = openSession(t);
    const found = run(s, [{ kind: 'spawn', mm: 0 }, { kind: 'bind', dev: 0, mm: 0 }]);
    expect(found).toEqual([[], []]);
    expect(s.commands).toHaveLength(2);
    expect(s.steps[1]).toEqual({ expected: { ok: true, value: 1 }, actual: { ok: true, value: 1 } });
    expect(s.log).toBeUndefined();
    expect(s.violation).toBeUndefined();
  });

  test('Keeps each step\'s events when a trace sink is attached', () => {
    const s = openSession(t, { events: true });
    run(s, [{ kind: 'spawn', mm: 0 }, { kind: 'bind', dev: 0, mm: 0 }]);
    expect(s.steps[1]!.events!.length).toBeGreaterThan(0);
    expect(s.steps[1]!.events!.some((e) => e.lane === 'core')).toBe(true);
  });

  test('An observation the spec did not predict is an OBS violation naming the command\'s objects', () => {
    const real = driverFor('vtd');
    // A driver whose SVA domains cannot be allocated: bind fails where the spec expects a PASID.
    const broken: IommuDriver = {
      ...real,
      probeIommu: (ctx, i) => {
        const iommu = real.probeIommu(ctx, i);
        return { ...iommu, ops: { ...iommu.ops, domain_alloc_sva: function* (): Co<Result<IommuDomain>> {
          return { ok: false, errno: 'ENOMEM' };
        } } };
      },
    };
    const s = openSession(t, { driver: broken });
    const [, v] = run(s, [{ kind: 'spawn', mm: 0 }, { kind: 'bind', dev: 0, mm: 0 }]);
    expect(v![0]).toMatchObject({ invariant: OBS_ID, objects: { dev: 0, mm: 0 } });
    expect(v![0]!.message).toBe('bind(d0,mm0) returned ENOMEM, the spec expects pasid 1');
    expect(s.violation).toMatchObject({ invariant: OBS_ID, step: 1, title: 'the observation refines the spec' });
  });

  test('An exception out of the impl is an EXC violation with its first line, not a crash', () => {
    const real = driverFor('vtd');
    const throwing: IommuDriver = {
      ...real,
      probeIommu: (ctx, i) => {
        const iommu = real.probeIommu(ctx, i);
        return { ...iommu, ops: { ...iommu.ops, domain_alloc_sva: () => { throw new Error('boom\nstack line'); } } };
      },
    };
    const s = openSession(t, { driver: throwing });
    const [, v] = run(s, [{ kind: 'spawn', mm: 0 }, { kind: 'bind', dev: 0, mm: 0 }]);
    expect(v).toEqual([{ invariant: EXC_ID, objects: { dev: 0, mm: 0 }, message: 'impl threw on bind(d0,mm0): Error: boom' }]);
    expect(s.steps[1]!.actual).toEqual({ ok: false, errno: 'EFAULT', fault: 'threw: Error: boom' });
  });
});
