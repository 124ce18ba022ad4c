/**
 * Writes the saved trace of every known upstream finding (src/shared/finding.ts) to
 * regressions/upstream/<name>.json: the hand-written shortest sequence, replayed strictly on
 * mainline (the finding reported as a violation). `npx tsx scripts/upstream-traces.ts`.
 */
import { runSequence } from '../src/harness/index.js';
import { type Command, type FindingName, type Topology, defaultTopology } from '../src/shared/index.js';
import { type TraceGroup, newTrace, writeTrace } from '../src/trace/index.js';

const vtd = defaultTopology('vtd');
/** dev0 made a PRI endpoint (ATS, alone in its group), as the PRI model topologies do. */
const vtdPri: Topology = { ...vtd, devices: vtd.devices.map((d, i) => (i === 0 ? { ...d, pri: true } : d)) };

const smmu = defaultTopology('smmuv3');
/** dev0 a stall-capable (PRI in the topology's terms) master. */
const smmuPri: Topology = { ...smmu, devices: smmu.devices.map((d, i) => (i === 0 ? { ...d, pri: true } : d)) };

const amd = defaultTopology('amd');
/** dev0 a PRI endpoint (DTE.PPR set at probe). */
const amdPri: Topology = { ...amd, devices: amd.devices.map((d, i) => (i === 0 ? { ...d, pri: true } : d)) };

/** A race: `size` commands from `at` run as one concurrent group, switched as `switches` says. */
const race = (at: number, switches: TraceGroup['switches'], size = 2): TraceGroup[] => [{ at, size, scheduler: 'exhaustive', seed: 0, switches }];

/** Two ATS endpoints in two groups behind one VT-d unit. */
const vtdTwoGroups: Topology = {
  platform: 'vtd',
  iommus: [{ pasidBits: 4, didBits: 16, asidBits: 4, rangeInv: true, prqSize: 8 }],
  devices: [{ iommu: 0, group: 0, pasidBits: 4, ats: true, pri: false }, { iommu: 0, group: 1, pasidBits: 4, ats: true, pri: false }],
  mms: 1, pages: 1, kpages: 0, ptLevels: 4,
};

const SEQUENCES: Record<FindingName, { topology: Topology; commands: Command[]; groups?: TraceGroup[] }> = {
  'vtd-iopf-remove-nonpri': {
    topology: vtd,
    commands: [{ kind: 'spawn', mm: 0 }, { kind: 'bind', dev: 0, mm: 0 }, { kind: 'unbind', dev: 0, mm: 0 }],
  },
  'vtd-release-fpd-lost': {
    topology: vtdPri,
    commands: [
      { kind: 'spawn', mm: 0 }, { kind: 'mmap', mm: 0, first: 0, count: 1, prot: 'rw' }, { kind: 'bind', dev: 0, mm: 0 },
      { kind: 'dma', dev: 0, mm: 0, page: 0, write: false }, { kind: 'exit', mm: 0 }, { kind: 'unbind', dev: 0, mm: 0 },
    ],
  },
  'vtd-teardown-race': {
    topology: vtdPri,
    // The unbind is switched out in its teardown's QI wait (P clear, the rest not yet zeroed);
    // the exit's release tears the same entry down.
    commands: [{ kind: 'spawn', mm: 0 }, { kind: 'bind', dev: 0, mm: 0 }, { kind: 'unbind', dev: 0, mm: 0 }, { kind: 'exit', mm: 0 }],
    groups: race(2, [{ at: 5, to: 1 }]),
  },
  'vtd-rid-replace-blocks': {
    // HWPT 0 at dev0's RID, mapped; the replace onto HWPT 1 fails at its first tag's batch (HWPT
    // 1 has none yet). The core keeps HWPT 0 attached; the device's RID entry is gone.
    topology: vtd,
    commands: [
      { kind: 'attachPasid', dev: 0, hwpt: 0, pasid: 0 }, { kind: 'iommuMap', hwpt: 0, page: 0, write: true },
      { kind: 'failNext', site: 'kzalloc@domain_qi_batch_alloc' }, { kind: 'replacePasid', dev: 0, hwpt: 1, from: 0 },
      { kind: 'dmaIova', dev: 0, hwpt: 0, page: 0, write: false },
    ],
  },
  'vtd-rid-attach-tags-twice': {
    // dev2 and dev3 (ATS) behind IOMMU 1: HWPT 1 at dev2's RID holds the IOTLB tag (IOMMU 1, DID,
    // PASID 0); dev3's RID attach shares it, and its own devTLB tag's kzalloc fails. The unmap
    // then flushes dev2's devTLB but not the IOTLB entry dev2's next DMA left.
    topology: vtd,
    commands: [
      { kind: 'attachPasid', dev: 2, hwpt: 1, pasid: 0 }, { kind: 'iommuMap', hwpt: 1, page: 0, write: true },
      { kind: 'failNext', site: 'kzalloc@cache_tag_assign' }, { kind: 'attachPasid', dev: 3, hwpt: 1, pasid: 0 },
      { kind: 'dmaIova', dev: 2, hwpt: 1, page: 0, write: false },
      { kind: 'iommuUnmap', hwpt: 1, page: 0 }, { kind: 'dmaIova', dev: 2, hwpt: 1, page: 0, write: false },
    ],
  },
  'vtd-rid-attach-tags-after-entry': {
    // dev0's group owned (a RID attach and detach), HWPT 1 at dev1's RID with IOVA page 0 mapped.
    // The group: dev0's RID attach of HWPT 1, switched out once its IOMMU_NO_PASID entry is
    // present (before cache_tag_assign_domain); dev0's DMA without PASID fills its ATC; the unmap
    // flushes the tags, which have no DEVTLB one for dev0 yet; then the attach ends.
    topology: vtdTwoGroups,
    commands: [
      { kind: 'attachPasid', dev: 0, hwpt: 0, pasid: 0 }, { kind: 'detachPasid', dev: 0, hwpt: 0 },
      { kind: 'attachPasid', dev: 1, hwpt: 1, pasid: 0 }, { kind: 'iommuMap', hwpt: 1, page: 0, write: false },
      { kind: 'attachPasid', dev: 0, hwpt: 1, pasid: 0 }, { kind: 'dmaPasid', dev: 0, pasid: 0, page: 0, write: false },
      { kind: 'iommuUnmap', hwpt: 1, page: 0 },
    ],
    groups: race(4, [{ at: 9, to: 1 }, { at: 11, to: 2 }], 3),
  },
  'vtd-drain-completion-race': {
    // Two PRI devices in two groups on one IOMMU (IOPF on through their SVA binds), each with an
    // iommufd domain at a PASID; two RID requests overflow the one-entry PRQ (PRO set). The two
    // replaces drain the PRQ at once: dev0's drain runs the PRQ thread, dev1's finds PRO still
    // set after its drain wait and sleeps on prq_complete, the thread completes it, and dev0's
    // reinit_completion takes it back: dev1's replace never finishes.
    topology: {
      platform: 'vtd',
      iommus: [{ pasidBits: 11, didBits: 16, asidBits: 2, rangeInv: true, prqSize: 1 }],
      devices: [{ iommu: 0, group: 0, pasidBits: 20, ats: true, pri: true }, { iommu: 0, group: 1, pasidBits: 20, ats: true, pri: true }],
      mms: 1, pages: 2, kpages: 0, ptLevels: 4,
    },
    commands: [
      { kind: 'spawn', mm: 0 }, { kind: 'bind', dev: 0, mm: 0 }, { kind: 'bind', dev: 1, mm: 0 },
      { kind: 'attachPasid', dev: 0, hwpt: 1, pasid: 8 }, { kind: 'attachPasid', dev: 1, hwpt: 1, pasid: 2 },
      { kind: 'prg', dev: 0, mm: 0, page: 0, count: 1, write: true, last: true, rid: true },
      { kind: 'prg', dev: 1, mm: 0, page: 0, count: 1, write: true, last: true, rid: true },
      { kind: 'replacePasid', dev: 0, from: 1, hwpt: 0 }, { kind: 'replacePasid', dev: 1, from: 1, hwpt: 0 },
    ],
    groups: race(7, [{ at: 30, to: 1 }]),
  },
  'smmuv3-release-vs-detach-cd': {
    topology: smmu,
    // The unbind is switched out after its CD clear; the exit's release rewrites the CD.
    commands: [
      { kind: 'spawn', mm: 0 }, { kind: 'mmap', mm: 0, first: 0, count: 1, prot: 'rw' }, { kind: 'touch', mm: 0, page: 0, write: true },
      { kind: 'bind', dev: 0, mm: 0 }, { kind: 'dma', dev: 0, mm: 0, page: 0, write: false },
      { kind: 'unbind', dev: 0, mm: 0 }, { kind: 'exit', mm: 0 },
    ],
    groups: race(5, [{ at: 0, to: 1 }, { at: 6, to: 0 }]),
  },
  'smmuv3-detach-no-iopf-flush': {
    topology: smmuPri,
    commands: [
      { kind: 'spawn', mm: 0 }, { kind: 'mmap', mm: 0, first: 0, count: 1, prot: 'rw' }, { kind: 'bind', dev: 0, mm: 0 },
      { kind: 'dma', dev: 0, mm: 0, page: 0, write: false }, { kind: 'unbind', dev: 0, mm: 0 },
    ],
  },
  'amd-remove-pasid-no-iopf-flush': {
    topology: amdPri,
    commands: [
      { kind: 'spawn', mm: 0 }, { kind: 'mmap', mm: 0, first: 0, count: 1, prot: 'rw' }, { kind: 'bind', dev: 0, mm: 0 },
      { kind: 'dma', dev: 0, mm: 0, page: 0, write: false }, { kind: 'unbind', dev: 0, mm: 0 },
    ],
  },
  'vtd-drain-devtlb-absent': {
    topology: vtdPri,
    commands: [{ kind: 'spawn', mm: 0 }, { kind: 'bind', dev: 0, mm: 0 }, { kind: 'unplug', dev: 0 }],
  },
  'iopf-partial-error-response': {
    topology: vtdPri,
    // A two-request group on the RID, where SVA attaches no fault handler.
    commands: [
      { kind: 'prg', dev: 0, mm: 0, page: 0, count: 2, write: false, rid: true, last: true }, { kind: 'serviceFaults' },
    ],
  },
  'iopf-stale-partial': {
    topology: vtdPri,
    // d0 bound to two mms; a group on mm0's PASID whose LAST never comes; d0 stops the PASID.
    commands: [
      { kind: 'spawn', mm: 0 }, { kind: 'spawn', mm: 1 }, { kind: 'bind', dev: 0, mm: 0 }, { kind: 'bind', dev: 0, mm: 1 },
      { kind: 'prg', dev: 0, mm: 0, page: 0, count: 1, write: false, rid: false, last: false }, { kind: 'serviceFaults' },
      { kind: 'unbind', dev: 0, mm: 0 },
    ],
  },
};

for (const [name, { topology, commands, groups }] of Object.entries(SEQUENCES)) {
  const r = runSequence(topology, commands, { strict: true, events: true, ...(groups === undefined ? {} : { groups }) });
  if (!r.ok) throw new Error(`${name}: ${r.error}`);
  const s = r.value.session;
  if (s.violation === undefined) throw new Error(`${name}: no violation on mainline`);
  const trace = newTrace({ topology, seed: 0, commands: s.commands, ...(s.groups.length === 0 ? {} : { groups: s.groups }), steps: s.steps, violation: s.violation });
  const w = writeTrace(new URL(`../regressions/upstream/${name}.json`, import.meta.url).pathname, trace);
  if (!w.ok) throw new Error(w.error);
  console.log(`${name}: ${s.violation.invariant} at step ${s.violation.step}: ${s.violation.message}`);
}
