import { describe, expect, test } from 'vitest';
import { INVARIANTS } from '../../../properties/registry.js';
import type { SmmuV3 } from '../../../src/hw/smmuv3/index.js';
import type { VtdUnit } from '../../../src/hw/vtd/unit.js';
import { dev_fault_param } from '../../../src/impl/core/iopf.js';
import { formatToken, userVpn } from '../../../src/shared/index.js';
import { loadTrace } from '../../../src/trace/index.js';
import { bench } from '../../properties/hardware/helpers.js';
import { priSetup } from '../../properties/hardware/priHelpers.js';

const dma = (page: number, write = false) => ({ kind: 'dma', dev: 0, mm: 0, page, write }) as const;
const serviceFaults = { kind: 'serviceFaults' } as const;

/** Every registered invariant on the bench's last step. */
const violations = (b: ReturnType<typeof priSetup>): string[] => INVARIANTS.flatMap((inv) => inv.check(b.ctx).map((v) => `${v.invariant}: ${v.message}`));

describe.each(['vtd', 'smmuv3'] as const)('I/O page faults on %s (issue 7 examples)', (platform) => {
  test('a DMA to an untouched page inside a VMA sends a page request; service faults it in and the retry reads it', () => {
    const b = priSetup(platform);
    const sent = b.run(dma(1));
    expect(sent.actual).toEqual({ ok: true });
    expect(sent.expected).toEqual({ ok: true });
    expect(b.world.devices[0]!.hw.priState!.outstanding).toHaveLength(1);
    const served = b.run(serviceFaults);
    expect(served.actual).toEqual({ ok: true, value: 1 });
    expect(served.expected).toEqual(served.actual);
    const [c] = b.world.devices[0]!.hw.priState!.completions;
    expect(c).toMatchObject({ code: 'success', ok: true });
    expect(formatToken(c!.token)).toBe('mm0.p1#1');
    expect(b.world.mms[0]!.pgd.lookup(userVpn(1))).not.toBe(0);
    expect(b.run(dma(1)).actual).toEqual({ ok: true, value: c!.token });
    expect(violations(b)).toEqual([]);
  });

  test('unbind while requests are pending drains them: no request is left and the retries find nothing bound', () => {
    const b = priSetup(platform);
    b.run(dma(0), dma(2, true));
    expect(b.world.devices[0]!.hw.priState!.outstanding).toHaveLength(2);
    const unbind = b.run({ kind: 'unbind', dev: 0, mm: 0 });
    expect(unbind.actual).toEqual({ ok: true });
    const hw = b.world.devices[0]!.hw;
    expect(hw.priState!.outstanding).toEqual([]);
    expect(hw.priState!.protocolErrors).toEqual([]);
    // Handled (the pages are faulted in, the mm is live) and answered Success, but the PASID
    // entry / CD is already gone: the retries fail instead of reaching the mm.
    expect(hw.priState!.completions.map((c) => [c.code, c.ok])).toEqual([['success', false], ['success', false]]);
    const unit = b.world.devices[0]!.iommu.unit;
    if (platform === 'vtd') expect((unit as VtdUnit).prq.pending).toEqual([]);
    else expect((unit as SmmuV3).evtq.stalls).toEqual([]);
    expect(dev_fault_param(b.world.devices[0]!)).toBeUndefined();
    expect(violations(b)).toEqual([]);
    expect(b.run(serviceFaults).actual).toEqual({ ok: true, value: 0 });
    expect(hw.priState!.completions).toEqual([]);
  });

  test('exit while requests are pending: the handler answers Invalid and faults nothing into the exited mm', () => {
    const b = priSetup(platform);
    b.run(dma(3, true), { kind: 'exit', mm: 0 });
    const walksBefore = b.world.kernel.mem.takeAnomalies();
    expect(walksBefore).toEqual([]);
    const served = b.run(serviceFaults);
    expect(served.actual).toEqual({ ok: true, value: 0 });
    expect(served.expected).toEqual({ ok: true, value: 0 });
    expect(b.world.devices[0]!.hw.priState!.completions.map((c) => [c.code, c.ok])).toEqual([['invalid', false]]);
    expect(b.ctx.anomalies).toEqual([]);
    for (let p = 0; p < 4; p++) expect(b.world.mms[0]!.pgd.lookup(userVpn(p))).toBe(0);
    expect(violations(b)).toEqual([]);
    b.run({ kind: 'unbind', dev: 0, mm: 0 });
    expect(violations(b)).toEqual([]);
  });

  test('munmap while a request is pending: the request is answered Invalid and the DMA fails', () => {
    const b = priSetup(platform);
    b.run(dma(1), { kind: 'munmap', mm: 0, first: 0, count: 2 }, serviceFaults);
    expect(b.ctx.actual).toEqual({ ok: true, value: 0 });
    expect(b.world.devices[0]!.hw.priState!.completions.map((c) => c.code)).toEqual(['invalid']);
    expect(violations(b)).toEqual([]);
  });

  test('a third miss without a free PRI credit faults, as the spec predicts', () => {
    const b = priSetup(platform);
    b.run(dma(0), dma(1));
    const third = b.run(dma(2));
    expect(third.actual).toMatchObject({ ok: false, errno: 'EFAULT' });
    expect(third.expected).toMatchObject({ ok: false, errno: 'EFAULT' });
    expect(violations(b)).toEqual([]);
  });
});

describe('the page response path of each platform', () => {
  test('VT-d: the request is a PRQ descriptor; the answer is a page group response descriptor on the invalidation queue', () => {
    const b = priSetup('vtd');
    b.run(dma(0));
    const unit = b.world.devices[0]!.iommu.unit as VtdUnit;
    expect(unit.prq.pending).toEqual([{ sid: 0, pasidPresent: true, pasid: 1, vpn: userVpn(0), write: false, lpig: true, prgi: 0 }]);
    b.run(serviceFaults);
    expect(unit.prq.pending).toEqual([]);
    expect(b.probe.units[0]!.events.slice(0, b.probe.units[0]!.n).filter((e) => e.kind === 'prs')).toEqual([
      { kind: 'prs', sid: 0, pasid: 1, prgi: 0, code: 'success', lpig: true, pasidPresent: true },
    ]);
    // A response the device is not waiting for reaches it anyway, and is logged as an error.
    unit.submit({ kind: 'prs', sid: 0, pasid: 1, prgi: 0, code: 'success', lpig: true, pasidPresent: true });
    unit.submit({ kind: 'wait', fence: false, drain: false });
    expect(b.world.devices[0]!.hw.priState!.protocolErrors).toEqual(['dev0: success response to PRG 0 PASID 1 with no such request outstanding']);
  });

  test('SMMUv3: the request is a stalled transaction (CD.S) with an event; the answer is CMD_RESUME without CMD_SYNC', () => {
    const b = priSetup('smmuv3');
    b.run(dma(0, true));
    const unit = b.world.devices[0]!.iommu.unit as SmmuV3;
    expect(unit.evtq.stalls).toEqual([{ sid: 0, ssv: true, ssid: 1, vpn: userVpn(0), read: false, stag: 0 }]);
    b.run(serviceFaults);
    const log = b.probe.units[0]!;
    const resume = log.events.slice(0, log.n).findIndex((e) => e.kind === 'CMD_RESUME');
    expect(log.events[resume]).toEqual({ kind: 'CMD_RESUME', sid: 0, stag: 0, retry: true });
    expect(unit.pending).toEqual([]);
    unit.submit({ kind: 'CMD_RESUME', sid: 0, stag: 3, retry: false });
    expect(b.world.devices[0]!.hw.priState!.protocolErrors).toEqual(['dev0: invalid response to PRG 3 with no such request outstanding']);
  });
});

test('iopf_group_alloc: the partial requests join their group in arrival order, before the LAST (amd)', () => {
  // Three requests of PRG 0: two partial ones left by an abandoned group (the group's other
  // device keeps the handle), then a LAST. report_partial_fault list_adds (newest first) and
  // iopf_group_alloc list_moves each to the group's head: page 0, page 1 (unmapped: sticky
  // INVALID), page 1 again. So page 0 is faulted in.
  const t = loadTrace(new URL('../../../regressions/amd-iopf-group-partials-in-arrival-order.json', import.meta.url).pathname);
  if (!t.ok) throw new Error(t.error);
  const b = bench('amd', t.value.topology);
  b.run(...t.value.commands);
  expect(b.world.mms[0]!.pgd.lookup(userVpn(0))).not.toBe(0);
  expect(b.world.mms[0]!.pgd.lookup(userVpn(1))).toBe(0);
  expect(violations(b)).toEqual([]);
});
