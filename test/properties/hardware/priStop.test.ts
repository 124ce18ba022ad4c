import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { priStop } from '../../../properties/hardware/priStop.js';
import { openSession } from '../../../src/harness/index.js';
import { IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE, IOMMU_FAULT_PAGE_REQUEST_PASID_VALID, dev_fault_param } from '../../../src/impl/core/iopf.js';
import type { VtdUnit } from '../../../src/hw/vtd/unit.js';
import { runGenerated } from '../../../models/generate.js';
import { Rng } from '../../../models/rng.js';
import { RunStats } from '../../../models/stats.js';
import { topologyArb } from '../../../models/topology.js';
import { DEFAULT_WEIGHTS } from '../../../models/weights.js';
import { ids } from './helpers.js';
import { priSetup } from './priHelpers.js';

const stop = { kind: 'stopMarker', dev: 0, mm: 0 } as const;
/** What a Stop Marker becomes in the IOPF core when a driver reports it: LAST, no access asked. */
const reportedMarker = { prm: { flags: IOMMU_FAULT_PAGE_REQUEST_PASID_VALID | IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE, pasid: 1, grpid: 0, perm: 0, addr: 0n } };

describe('I-PRI-STOP', () => {
  test('holds at every step of generated VT-d runs (random topologies, every invariant checked), which send Stop Markers', () => {
    let markers = 0;
    fc.sample(topologyArb(['vtd']), { seed: 1729, numRuns: 50 }).forEach((t, i) => {
      const s = openSession(t);
      runGenerated(s, new Rng((i + 1) * 2654435761), { weights: DEFAULT_WEIGHTS, maxCommands: 200, swarm: 0.25 }, new RunStats());
      expect(s.violation).toBeUndefined();
      for (const u of s.world.iommus) markers += u.unit.counters.get('prq.stop_marker');
    });
    // Not vacuous (5 on these seeds since the nested HWPT's commands joined the draws).
    expect(markers).toBeGreaterThan(2);
  });

  test('holds with a marker in the PRQ that the spec also queued, and after the thread consumed it', () => {
    const b = priSetup('vtd');
    b.run(stop);
    expect((b.world.iommus[0]!.unit as VtdUnit).prq.pending.length).toBe(1);
    expect(b.check(priStop)).toEqual([]);
    b.run({ kind: 'serviceFaults' });
    expect(b.check(priStop)).toEqual([]);
  });

  test('fires when the IOPF core holds a Stop Marker: on the partial list, or as a group awaiting its response', () => {
    const b = priSetup('vtd');
    const p = dev_fault_param(b.world.devices[0]!)!;
    p.partial.push(reportedMarker);
    let v = b.check(priStop);
    expect(ids(v)).toEqual(['I-PRI-STOP']);
    expect(v[0]!.message).toMatch(/1 Stop Marker\(s\) on the partial list in the IOPF core/);
    p.partial.length = 0;
    p.faults.push({ faults: [reportedMarker], last_fault: reportedMarker } as never);
    v = b.check(priStop);
    expect(v.map((x) => x.message)).toEqual([expect.stringMatching(/reported as a group awaiting its response/)]);
  });

  test('fires when the PRQ holds a Stop Marker the spec does not (a driver that skipped it), or lost one the spec still has', () => {
    const b = priSetup('vtd');
    const dev = b.world.devices[0]!;
    const unit = dev.iommu.unit as VtdUnit;
    unit.prq.appendStopMarker({ sid: dev.hw.sid, pasidPresent: true, pasid: 1, vpn: 0, read: false, write: false, lpig: true, prgi: 0 });
    expect(b.check(priStop).map((x) => x.message)).toEqual(['vtd0: the PRQ holds 1 Stop Marker(s), the spec 0']);
    const b2 = priSetup('vtd');
    b2.run(stop);
    (b2.world.iommus[0]!.unit as VtdUnit).prq.consumeAll();
    expect(b2.check(priStop).map((x) => x.message)).toEqual(['vtd0: the PRQ holds 0 Stop Marker(s), the spec 1']);
  });
});
