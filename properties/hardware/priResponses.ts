import type { Invariant } from '../invariant.js';
import { userVpn } from '../../src/shared/index.js';
import { perPlatform, type PlatformCheck } from './platform.js';
import { dev_fault_param } from '../../src/impl/core/iopf.js';
import { hwQueueEmpty, hwQueued, kernelPending } from './priRead.js';
import type { VtdUnit } from '../../src/hw/vtd/unit.js';
import type { AmdIommuUnit } from '../../src/hw/amd/index.js';

/**
 * Both platforms alike, for every PRI endpoint, group by group (a group is the requests with
 * one PASID and PRG index): no response ever named a group that was not outstanding (the
 * endpoint's protocol-error log: a second answer, or one after the group was retired); a group
 * whose LAST was sent is held exactly once, as its LAST in the IOMMU's queue or as a reported
 * group in the kernel (a lost one would never be answered, a duplicate answered twice); a group
 * whose LAST was not sent is held as no answerable group at all (an answer before the LAST is a
 * protocol violation); the kernel holds nothing the endpoint is not waiting for; and the
 * endpoint waits for as many requests as the spec says are pending. A group whose LAST the
 * IOMMU discarded unanswered (AMD PPR log overflow) is held nowhere: an answer to it would come
 * from a kernel that never saw it. On VT-d each PRQ, on AMD each PPR log, holds as many
 * requests as the spec says, with the same overflow state (a skipped drain shows here).
 */
const check: PlatformCheck = (ctx, out) => {
  const { world, spec } = ctx;
  for (const dev of world.devices) {
    const pri = dev.hw.priState;
    if (pri === undefined) continue;
    for (const e of pri.protocolErrors) out.add({ dev: dev.id }, `response protocol error: ${e}`);
    // Nothing pending anywhere: the common step, checked without allocating.
    if (pri.outstanding.length === 0 && spec.outstanding[dev.id] === 0 && (dev_fault_param(dev)?.faults.length ?? 0) === 0 && hwQueueEmpty(world, dev)) continue;
    // A Stop Marker in the PRQ is no group: I-PRI-STOP has it.
    const held = [...hwQueued(world, dev), ...kernelPending(dev)].filter((h) => h.last && h.stop === undefined);
    const seen = new Set<string>();
    for (const r of pri.outstanding) {
      const key = `${r.pasid}/${r.prgi}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const lastSent = pri.outstanding.some((o) => o.pasid === r.pasid && o.prgi === r.prgi && o.last);
      // A LAST the IOMMU discarded unanswered (AMD PPR log overflow) reached neither it nor the kernel.
      const lastLost = pri.outstanding.some((o) => o.pasid === r.pasid && o.prgi === r.prgi && o.last && o.lost === true);
      const n = held.filter((h) => h.pasid === r.pasid && h.prgi === r.prgi).length;
      if (n === (lastSent && !lastLost ? 1 : 0)) continue;
      out.add({ dev: dev.id, pasid: r.pasid, prg: r.prgi }, lastLost
        ? `the IOMMU discarded the LAST of ${dev.hw.name}'s PRG ${r.prgi} (PASID ${r.pasid}), yet the IOMMU and kernel hold it ${n} times`
        : lastSent
          ? `${dev.hw.name} waits for PRG ${r.prgi} (PASID ${r.pasid}), which the IOMMU and kernel hold ${n} times: it will get ${n} responses`
          : `${dev.hw.name} has not sent the LAST of PRG ${r.prgi} (PASID ${r.pasid}), yet the IOMMU and kernel hold it as answerable`);
    }
    for (const h of held) {
      if (!pri.outstanding.some((r) => r.pasid === h.pasid && r.prgi === h.prgi)) {
        out.add({ dev: dev.id, pasid: h.pasid, prg: h.prgi }, `PRG ${h.prgi} (PASID ${h.pasid}) of ${dev.hw.name} is pending in the IOMMU or kernel but not outstanding at the device`);
      }
    }
    if (pri.outstanding.length !== spec.outstanding[dev.id]) {
      out.add({ dev: dev.id }, `${dev.hw.name} has ${pri.outstanding.length} page requests outstanding, the spec ${spec.outstanding[dev.id]}`);
    } else {
      // The same requests in groups still open (LAST not sent): which group a request joined
      // decides what one response retires (a concurrent miss and prg may group either way).
      const hwOpen = pri.outstanding.filter((r) => !pri.outstanding.some((o) => o.pasid === r.pasid && o.prgi === r.prgi && o.last)).length;
      const specOpen = spec.waiting.filter((w) => w.dev === dev.id && !spec.waiting.some((o) => o.dev === w.dev && o.slot === w.slot && o.prgi === w.prgi && o.last)).length;
      if (hwOpen !== specOpen) out.add({ dev: dev.id }, `${dev.hw.name} has ${hwOpen} page requests in groups whose LAST it has not sent, the spec ${specOpen}`);
      // And for the same pages: which of two concurrent misses the full queue dropped decides
      // which page the kernel will fault in.
      else if (pri.outstanding.length > 0) {
        const hwPages = pri.outstanding.map((r) => accessKey(r.vpn, r.write, r.lost === true)).sort(byNumber);
        const specPages = spec.waiting.filter((w) => w.dev === dev.id).map((w) => accessKey(userVpn(w.page), w.write, w.lost === true)).sort(byNumber);
        if (hwPages.some((k, i) => k !== specPages[i])) {
          out.add({ dev: dev.id }, `${dev.hw.name} waits on ${hwPages.map(formatAccess).join(', ')}, the spec on ${specPages.map(formatAccess).join(', ')}`);
        }
      }
    }
  }
  // The kernel's partial lists hold what the spec says: none outlives its PASID's detach.
  if (spec.partial.length > 0 || world.devices.some((d) => (dev_fault_param(d)?.partial.length ?? 0) > 0)) {
    for (const dev of world.devices) {
      const have = dev_fault_param(dev)?.partial.length ?? 0;
      const want = spec.partial.filter((r) => r.dev === dev.id).length;
      if (have !== want) out.add({ dev: dev.id }, `the kernel keeps ${have} partial page requests of ${dev.hw.name}, the spec ${want}`);
    }
  }
  if (world.topology.platform === 'amd') return checkPprLogs(ctx, out);
  if (world.topology.platform !== 'vtd') return;
  const devices = world.topology.devices;
  for (const iommu of world.iommus) {
    const prq = (iommu.unit as VtdUnit).prq;
    if (prq.pending.length === 0 && spec.prq.length === 0 && !prq.overflow && spec.prqOverflow[iommu.index] === 0) continue;
    const want = spec.prq.filter((r) => devices[r.dev]!.iommu === iommu.index).length;
    if (prq.pending.length !== want) out.add({ iommu: iommu.index }, `${iommu.unit.name}: the PRQ holds ${prq.pending.length} page requests, the spec ${want}`);
    if (prq.overflow !== (spec.prqOverflow[iommu.index] === 1)) out.add({ iommu: iommu.index }, `${iommu.unit.name}: PRO is ${prq.overflow ? 'set' : 'clear'}, the spec has it ${prq.overflow ? 'clear' : 'set'}`);
  }
};

/** One outstanding access, as a number that sorts by page, then read before write, then answerable before lost (AMD: its PPR log discarded it). */
const accessKey = (vpn: number, write: boolean, lost: boolean): number => vpn * 4 + (write ? 2 : 0) + (lost ? 1 : 0);
const byNumber = (a: number, b: number): number => a - b;
const formatAccess = (k: number): string => `vpn 0x${Math.floor(k / 4).toString(16)} ${(k & 2) !== 0 ? 'w' : 'r'}${(k & 1) !== 0 ? ' (lost)' : ''}`;

/** AMD: each PPR log holds as many requests as the spec says, and is stopped (overflowed, not restarted) when the spec says. */
const checkPprLogs: PlatformCheck = (ctx, out) => {
  const { world, spec } = ctx;
  const devices = world.topology.devices;
  for (const iommu of world.iommus) {
    const log = (iommu.unit as AmdIommuUnit).pprLog;
    const halted = log.halted;
    if (log.pending.length === 0 && spec.prq.length === 0 && !halted && spec.prqOverflow[iommu.index] === 0) continue;
    const want = spec.prq.filter((r) => devices[r.dev]!.iommu === iommu.index).length;
    if (log.pending.length !== want) out.add({ iommu: iommu.index }, `${iommu.unit.name}: the PPR log holds ${log.pending.length} page requests, the spec ${want}`);
    if (halted !== (spec.prqOverflow[iommu.index] === 1)) out.add({ iommu: iommu.index }, `${iommu.unit.name}: PPR logging is ${halted ? 'stopped by an overflow' : 'running'}, the spec has it ${halted ? 'running' : 'stopped'}`);
  }
};

/** I-PRI-ONCE: every page request gets exactly one response. */
export const priResponses: Invariant = {
  id: 'I-PRI-ONCE',
  title: 'Every page request group gets exactly one response, and only after its LAST',
  kernelRule:
    'Each group is answered once, after its LAST (iopf_group_response only while the group is pending; iopf_error_response when no handler takes it); a response for a group that is not outstanding is a protocol error.',
  source: 'drivers/iommu/io-pgfault.c: iommu_report_device_fault, iopf_group_response, iopf_queue_remove_device (v6.17); PCIe r6.0 10.4.2',
  check: perPlatform('I-PRI-ONCE', { vtd: check, smmuv3: check, amd: check }),
};
