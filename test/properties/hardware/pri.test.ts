import { describe, expect, test } from 'vitest';
import { priDrain } from '../../../properties/hardware/priDrain.js';
import { priExit } from '../../../properties/hardware/priExit.js';
import { priResponses } from '../../../properties/hardware/priResponses.js';
import { priRetry } from '../../../properties/hardware/priRetry.js';
import { priStale } from '../../../properties/hardware/priStale.js';
import type { OutstandingRequest } from '../../../src/hw/pri.js';
import { userVpn } from '../../../src/shared/index.js';
import { MM, PTE_ABSENT, PTE_RO } from '../../../src/spec/state.js';
import type { VtdUnit } from '../../../src/hw/vtd/unit.js';
import { ids } from './helpers.js';
import { priHoldsOnRandomWalks, priSetup } from './priHelpers.js';

const PLATFORMS = ['vtd', 'smmuv3', 'amd'] as const;
const dma = (page: number, write = false) => ({ kind: 'dma', dev: 0, mm: 0, page, write }) as const;
const serviceFaults = { kind: 'serviceFaults' } as const;

describe('PRI invariants hold on random legal walks with PRI endpoints', () => {
  test.each(PLATFORMS)('I-PRI-DRAIN, I-PRI-ONCE, I-PRI-STALE, I-PRI-EXIT and I-PRI-RETRY hold on %s', (platform) => {
    for (const inv of [priDrain, priResponses, priStale, priExit, priRetry]) expect(priHoldsOnRandomWalks(inv, platform, 4, 250)).toBeGreaterThan(5);
  });
});

describe.each(PLATFORMS)('PRI invariants fire on crafted bad states on %s', (platform) => {
  test('I-PRI-DRAIN fires when a request of the unbound PASID is still outstanding at the device', () => {
    const b = priSetup(platform);
    b.run({ kind: 'unbind', dev: 0, mm: 0 });
    expect(b.check(priDrain)).toEqual([]);
    const pri = b.world.devices[0]!.hw.priState!;
    pri.outstanding.push({ pasid: 1, vpn: userVpn(0), write: false, prgi: 7, root: 0, last: true });
    const v = b.check(priDrain);
    expect(ids(v)).toEqual(['I-PRI-DRAIN']);
    expect(v[0]!.message).toMatch(/still outstanding at the device after the last unbind/);
  });

  test('I-PRI-ONCE fires on a stray response and on a request nobody holds', () => {
    const b = priSetup(platform);
    b.run(dma(0));
    expect(b.check(priResponses)).toEqual([]);
    const hw = b.world.devices[0]!.hw;
    b.run(serviceFaults);
    expect(b.check(priResponses)).toEqual([]);
    hw.pageResponse(1, 0, 'success'); // PRG 0 was answered already
    expect(b.check(priResponses).map((x) => x.message)).toEqual([expect.stringMatching(/protocol error: dev0: success response to PRG 0/)]);
    const b2 = priSetup(platform);
    b2.run(dma(1));
    const lost: OutstandingRequest = { ...b2.world.devices[0]!.hw.priState!.outstanding[0]!, prgi: 9 };
    b2.world.devices[0]!.hw.priState!.outstanding.push(lost);
    expect(b2.check(priResponses).map((x) => x.message)).toEqual([
      'dev0 waits for PRG 9 (PASID 1), which the IOMMU and kernel hold 0 times: it will get 0 responses',
      'dev0 has 2 page requests outstanding, the spec 1',
    ]);
  });

  test('I-PRI-ONCE fires when the spec groups a request differently (closed where the device left it open)', () => {
    const b = priSetup(platform);
    b.run(dma(1));
    expect(b.check(priResponses)).toEqual([]);
    // The device's one request is its group's LAST; make the spec's an open group's member.
    const w = b.spec.waiting[0]!;
    b.spec.waiting[0] = { ...w, last: false };
    expect(b.check(priResponses).map((x) => x.message)).toContain('dev0 has 0 page requests in groups whose LAST it has not sent, the spec 1');
  });

  test('I-PRI-ONCE fires when the device and the spec wait on different pages (a full queue dropped the other miss)', () => {
    const b = priSetup(platform);
    b.run(dma(1));
    const w = b.spec.waiting[0]!;
    b.spec.waiting[0] = { ...w, page: 2 };
    expect(b.check(priResponses).map((x) => x.message)).toEqual(['dev0 waits on vpn 0x40001 r, the spec on vpn 0x40200 r']);
  });

  test('I-PRI-ONCE fires when the spec holds a request as discarded (AMD PPR log full) that the device can still get answered', () => {
    const b = priSetup(platform);
    b.run(dma(1));
    b.spec.waiting[0] = { ...b.spec.waiting[0]!, lost: true };
    expect(b.check(priResponses).map((x) => x.message)).toContain('dev0 waits on vpn 0x40001 r, the spec on vpn 0x40001 r (lost)');
  });

  test('I-PRI-STALE fires when a pending request outlives its binding', () => {
    const b = priSetup(platform);
    b.run(dma(2));
    expect(b.check(priStale)).toEqual([]);
    b.world.devices[0]!.group.pasid_array.delete(1);
    expect(b.check(priStale).map((x) => x.message)).toEqual([expect.stringMatching(/waits on PASID 1, which is no longer bound/)]);
  });

  test('I-PRI-EXIT fires when an exited mm gets a page faulted in and a success answer', () => {
    const b = priSetup(platform);
    b.run(dma(0), { kind: 'exit', mm: 0 }, serviceFaults);
    expect(b.check(priExit)).toEqual([]);
    const mm = b.world.mms[0]!;
    const pri = b.world.devices[0]!.hw.priState!;
    const c = pri.completions[0]!;
    expect(c).toMatchObject({ code: 'invalid', ok: false });
    pri.completions[0] = { ...c, code: 'success', ok: true, token: 1 };
    mm.pgd.map(userVpn(3), b.world.kernel.mem.alloc('data', 0, 1), true);
    expect(b.check(priExit).map((x) => x.message)).toEqual([
      'dev0 PRG on PASID 1 of exited mm0 was answered success and completed',
      'exited mm0 has page 3 mapped again: a fault was handled after exit_mmap',
    ]);
  });

  test('I-PRI-RETRY fires when a retried read returns a token the spec does not expect', () => {
    const b = priSetup(platform);
    b.run(dma(0), serviceFaults);
    expect(b.check(priRetry)).toEqual([]);
    const pri = b.world.devices[0]!.hw.priState!;
    pri.completions[0] = { ...pri.completions[0]!, token: 12345 };
    expect(b.check(priRetry).map((x) => x.message)).toEqual([expect.stringMatching(/^dev0: retried access to mm0 page 0 read .*, the spec expects it read mm0\.p0#1$/)]);
  });
});

describe.each(PLATFORMS)('what I-PRI-RETRY and I-PRI-EXIT accept, and no more, on %s', (platform) => {
  test('I-PRI-RETRY matches retried accesses by page: two answers in the other order hold, a wrong token still fires', () => {
    const b = priSetup(platform);
    b.run(dma(0), dma(1), serviceFaults);
    const pri = b.world.devices[0]!.hw.priState!;
    expect(pri.completions.map((c) => c.vpn)).toEqual([userVpn(0), userVpn(1)]);
    expect(b.check(priRetry)).toEqual([]);
    // The unordered IOPF workqueue may answer the second group first.
    pri.completions.reverse();
    expect(b.check(priRetry)).toEqual([]);
    pri.completions[0] = { ...pri.completions[0]!, token: 12345 };
    expect(b.check(priRetry).map((x) => x.message)).toEqual([expect.stringMatching(/^dev0: retried access to mm0 page 1 read .*, the spec expects it read mm0\.p1#1$/)]);
  });

  test('I-PRI-RETRY matches by page and access: a read and a write on one read-only page end differently, in either order', () => {
    const b = priSetup(platform);
    b.run({ kind: 'mprotect', mm: 0, page: 0, prot: 'r' }, dma(0), dma(0, true), serviceFaults);
    const pri = b.world.devices[0]!.hw.priState!;
    expect(pri.completions.map((c) => [c.write, c.ok])).toEqual([[false, true], [true, false]]);
    expect(b.check(priRetry)).toEqual([]);
    // The write's Invalid answered first (the unordered workqueue): not the read's answer.
    pri.completions.reverse();
    expect(b.check(priRetry)).toEqual([]);
    pri.completions[1] = { ...pri.completions[1]!, ok: false, token: -1 };
    expect(b.check(priRetry).map((x) => x.message)).toEqual([expect.stringMatching(/^dev0: retried access to mm0 page 0 failed, the spec expects it read mm0\.p0#1$/)]);
  });

  test('a spec-given success whose retry failed is accepted only when the mm has exited in the spec too (the response went out after exit_mmap)', () => {
    const b = priSetup(platform);
    b.run(dma(0), serviceFaults);
    const pri = b.world.devices[0]!.hw.priState!;
    expect(pri.completions).toEqual([expect.objectContaining({ code: 'success', ok: true })]);
    // As a group leaves it: the handler answered before the exit, the retry came after the release.
    pri.completions[0] = { ...pri.completions[0]!, ok: false, token: -1 };
    const mm = b.world.mms[0]!;
    mm.pgd.unmap(userVpn(0));
    mm.exited = true;
    // The spec's mm still live: its order has no exit, so nothing explains the failed retry.
    expect(b.check(priRetry).map((x) => x.message)).toEqual([expect.stringMatching(/^dev0: retried access to mm0 page 0 failed, the spec expects it read /)]);
    expect(b.check(priExit).map((x) => x.message)).toEqual(['dev0 PRG on PASID 1 of exited mm0 was answered success']);
    b.spec.slots[0]!.mm.state = MM.exited;
    expect(b.check(priRetry)).toEqual([]);
    expect(b.check(priExit)).toEqual([]);
    // A retry that read a token the spec does not give still fires.
    pri.completions[0] = { ...pri.completions[0]!, ok: true, token: 12345 };
    expect(b.check(priRetry)).not.toEqual([]);
  });

  test('a spec-given success whose retry failed is accepted only when the page no longer allows the access in the spec either (unmapped or mprotected before the response)', () => {
    const b = priSetup(platform);
    b.run(dma(0, true), serviceFaults);
    const pri = b.world.devices[0]!.hw.priState!;
    expect(pri.completions).toEqual([expect.objectContaining({ code: 'success', ok: true, write: true })]);
    // As a group leaves it: the handler faulted the page in, a munmap or mprotect came before the response.
    pri.completions[0] = { ...pri.completions[0]!, ok: false, token: -1 };
    // The spec's page is still writable: nothing explains the failed retry.
    expect(b.check(priRetry).map((x) => x.message)).toEqual([expect.stringMatching(/^dev0: retried access to mm0 page 0 failed, the spec expects it /)]);
    const pte = b.spec.slots[0]!.pte;
    pte[0] = PTE_RO;
    expect(b.check(priRetry)).toEqual([]);
    pte[0] = PTE_ABSENT;
    expect(b.check(priRetry)).toEqual([]);
    // A retry that read a token the spec does not give still fires.
    pri.completions[0] = { ...pri.completions[0]!, ok: true, token: 12345 };
    expect(b.check(priRetry)).not.toEqual([]);
  });

  test('I-PRI-EXIT accepts a success the spec gave too (before the exit in its order), once per spec answer', () => {
    const b = priSetup(platform);
    b.run(dma(0), serviceFaults);
    const pri = b.world.devices[0]!.hw.priState!;
    expect(pri.completions).toEqual([expect.objectContaining({ code: 'success', ok: true })]);
    // As a group's probe sees it when the exit (its exit_mmap unmapping the page) linearizes
    // after the fault's answer.
    const mm = b.world.mms[0]!;
    mm.pgd.unmap(userVpn(0));
    mm.exited = true;
    expect(b.check(priExit)).toEqual([]);
    // A second success for the same page is one the spec never gave.
    pri.completions.push({ ...pri.completions[0]! });
    expect(b.check(priExit).map((x) => x.message)).toEqual(['dev0 PRG on PASID 1 of exited mm0 was answered success and completed']);
  });
});

describe('I-PRI-ONCE on page request groups (VT-d)', () => {
  test('holds on a two-request group through its one answer', () => {
    const b = priSetup('vtd');
    b.run({ kind: 'prg', dev: 0, mm: 0, page: 0, count: 2, write: false, rid: false, last: true });
    expect(b.check(priResponses)).toEqual([]);
    b.run(serviceFaults);
    expect(b.check(priResponses)).toEqual([]);
  });

  test('fires when the IOMMU holds a group as answerable whose LAST the device has not sent', () => {
    const b = priSetup('vtd');
    const dev = b.world.devices[0]!;
    dev.hw.priState!.outstanding.push({ pasid: 1, vpn: userVpn(0), write: false, prgi: 9, root: 0, last: false });
    b.spec.outstanding[0] = 1;
    (dev.iommu.unit as VtdUnit).prq.append({ sid: dev.hw.sid, pasidPresent: true, pasid: 1, vpn: userVpn(0), write: false, lpig: true, prgi: 9 });
    const v = b.check(priResponses);
    expect(v.map((x) => x.message)).toContainEqual(expect.stringMatching(/has not sent the LAST of PRG 9 .* as answerable/));
  });

  test('fires when a PRQ holds other requests than the spec says (a drain skipped), or PRO differs', () => {
    const b = priSetup('vtd');
    const dev = b.world.devices[0]!;
    const unit = dev.iommu.unit as VtdUnit;
    unit.prq.append({ sid: dev.hw.sid, pasidPresent: true, pasid: 1, vpn: userVpn(0), write: false, lpig: false, prgi: 3 });
    unit.prq.overflow = true;
    const msgs = b.check(priResponses).map((x) => x.message);
    expect(msgs).toContainEqual(expect.stringMatching(/the PRQ holds 1 page requests, the spec 0/));
    expect(msgs).toContainEqual(expect.stringMatching(/PRO is set, the spec has it clear/));
  });
});
