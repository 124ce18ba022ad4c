/**
 * Page requests the IOMMU discards unanswered (an AMD PPR log overflow, 48882 §2.6.2): the PRI
 * invariants hold when such a group is held nowhere and never answered, and fire when the kernel
 * or the IOMMU holds it or answers it; the PPR log's contents and stopped state follow the spec.
 */
import { describe, expect, test } from 'vitest';
import { priDrain } from '../../../properties/hardware/priDrain.js';
import { priResponses } from '../../../properties/hardware/priResponses.js';
import { priStale } from '../../../properties/hardware/priStale.js';
import type { AmdIommuUnit } from '../../../src/hw/amd/index.js';
import { userVpn } from '../../../src/shared/index.js';
import { bench } from './helpers.js';
import { priTopology } from './priHelpers.js';

/** dev0 a PRI endpoint bound to mm0 (pages 0..3 rw) behind an AMD IOMMU whose PPR log holds one entry. */
const lostSetup = () => {
  const t = priTopology('amd');
  const b = bench('amd', { ...t, iommus: t.iommus.map((u) => ({ ...u, prqSize: 1 })) });
  b.run({ kind: 'spawn', mm: 0 }, { kind: 'mmap', mm: 0, first: 0, count: 4, prot: 'rw' }, { kind: 'bind', dev: 0, mm: 0 });
  // Two requests of one group: the first fills the log, the LAST is discarded.
  b.run({ kind: 'prg', dev: 0, mm: 0, page: 0, count: 2, write: false, rid: false, last: true });
  return b;
};

describe('a LAST the AMD IOMMU discarded', () => {
  test('is held nowhere and never answered: I-PRI-ONCE holds through serviceFaults; the device still waits', () => {
    const b = lostSetup();
    const dev = b.world.devices[0]!;
    const unit = dev.iommu.unit as AmdIommuUnit;
    expect(unit.pprLog.halted).toBe(true);
    expect(dev.hw.priState!.outstanding.map((r) => [r.last, r.lost === true])).toEqual([[false, false], [true, true]]);
    expect(b.check(priResponses)).toEqual([]);
    b.run({ kind: 'serviceFaults' });
    expect(b.check(priResponses)).toEqual([]);
    expect(unit.pprLog.halted).toBe(false);
    expect(dev.hw.counters.get('pri.response.success') + dev.hw.counters.get('pri.response.invalid')).toBe(0);
    expect(dev.hw.priState!.outstanding).toHaveLength(2);
  });

  test('I-PRI-ONCE fires when the kernel answers it, or the IOMMU holds it', () => {
    const b = lostSetup();
    const dev = b.world.devices[0]!;
    dev.hw.pageResponse(1, 0, 'success');
    expect(b.check(priResponses).map((x) => x.message)).toContainEqual(expect.stringMatching(/success response to PRG 0 whose LAST the IOMMU discarded/));
    const b2 = lostSetup();
    const d2 = b2.world.devices[0]!;
    const log = (d2.iommu.unit as AmdIommuUnit).pprLog;
    log.consumeAll();
    log.clearStatus(true, true);
    log.setEnabled(true);
    log.append({ devid: d2.hw.sid, pasid: 1, gn: true, vpn: userVpn(1), write: false, tag: 0, last: true });
    b2.spec.prq.push({ dev: 0, slot: 0, pasid: 1, page: 1, write: false, prgi: 0, last: true });
    b2.spec.prqOverflow[0] = 0;
    expect(b2.check(priResponses).map((x) => x.message)).toContainEqual(expect.stringMatching(/the IOMMU discarded the LAST of dev0's PRG 0 \(PASID 1\), yet the IOMMU and kernel hold it 1 times/));
  });

  test('I-PRI-ONCE fires when a PPR log holds other requests than the spec, or is stopped when the spec has it running', () => {
    const b = lostSetup();
    b.spec.prqOverflow[0] = 0;
    b.spec.prq.length = 0;
    const msgs = b.check(priResponses).map((x) => x.message);
    expect(msgs).toContainEqual('amd0: the PPR log holds 1 page requests, the spec 0');
    expect(msgs).toContainEqual('amd0: PPR logging is stopped by an overflow, the spec has it running');
  });

  test('I-PRI-DRAIN and I-PRI-STALE hold after the last unbind for the lost group only', () => {
    const b = lostSetup();
    b.run({ kind: 'serviceFaults' }, { kind: 'unbind', dev: 0, mm: 0 });
    expect(b.check(priDrain)).toEqual([]);
    expect(b.check(priStale)).toEqual([]);
    // A request of a group whose LAST did arrive is still the unbind's to answer.
    b.world.devices[0]!.hw.priState!.outstanding.push({ pasid: 1, vpn: userVpn(3), write: false, prgi: 5, root: 0, last: true });
    expect(b.check(priDrain).map((x) => x.message)).toEqual([expect.stringMatching(/still outstanding at the device after the last unbind/)]);
    expect(b.check(priStale).map((x) => x.message)).toEqual([expect.stringMatching(/PRG 5 waits on PASID 1, which is no longer bound/)]);
  });
});
