/**
 * I11 Quiescence: once nothing is bound and every SRCU callback has run, no SVA state remains:
 * no domain, handle, pasid_array entry (but those of attached iommufd paging domains), notifier, iommu_sva_mms member or driver state (cache
 * tags, master_domains, ASIDs, valid CDs), and the PASID IDA holds exactly the PASIDs of the
 * iommu_mms not yet dropped (B04 leaked one at every unbind). The full check is
 * src/impl/quiesce.ts findLeaks plus what the platform's leak hook does not see.
 */
import { findLeaks, isHwptEntry, noBonds, type World } from '../../src/impl/index.js';
import type { Command } from '../../src/shared/index.js';
import type { CheckContext, Invariant, Violation } from '../invariant.js';
import { PerWorld } from './perWorld.js';
import { platformOf } from './platform/index.js';
import { Findings, NO_VIOLATIONS } from './scan.js';

const findings = new Findings('I11');

/** Whether the world was quiescent at its previous check. */
const wasQuiet = new PerWorld<{ quiet: boolean | undefined }>(() => ({ quiet: undefined }));

/**
 * When findLeaks runs: on becoming quiescent (the last unbind, or the grace period that frees
 * the last notifier: the previous check saw a non-quiescent world) and when a quiescent
 * mm_struct is freed (mmdrop: its frames and PASID must go). findLeaks costs ≈100-150 µs on
 * VT-d (intel_leak_check walks every device's whole PASID directory), so the other quiescent
 * steps, and a world's first check, get the core subset below: a failed bind, exit, spawn or
 * fork can only leave core objects, PASIDs or ASIDs behind (a stray PASID entry or CD is I5's
 * per-step scan), and page-only commands change nothing findLeaks reads.
 */
const fullCheck = (before: boolean | undefined, cmd: Command): boolean => before === false || cmd.kind === 'mmdrop';

/** The core part of findLeaks' quiescent rules, cheap enough for every quiescent step. */
function coreSubset(world: World, f: Findings): void {
  const { core } = world;
  const { domains, handles, notifiers } = core.live;
  if (domains.size + handles.size + notifiers.size > 0) f.add({}, `domain/handle/notifier: ${domains.size}/${handles.size}/${notifiers.size} still allocated with nothing bound`);
  for (const g of world.groups) {
    let n = 0;
    for (const [pasid, e] of g.pasid_array) if (!isHwptEntry(world, g, pasid, e)) n++;
    if (n > 0) f.add({ group: g.id }, `pasid_array: group ${g.id} has ${n} entries with nothing bound`);
  }
  if (core.sva.mms.length > 0 || core.sva.present) f.add({}, `sva_mm: iommu_sva_mms has ${core.sva.mms.length} members with nothing bound`);
  let owned = 0;
  for (const mm of world.mms) {
    const d = mm?.iommu_mm;
    if (mm === undefined || mm.freed || d === undefined || d.freed) continue;
    owned++;
    if (!core.pasidIda.has(d.pasid)) f.add({ mm: mm.slot, pasid: d.pasid }, `pasid: PASID ${d.pasid} of a live mm is not in the IDA`);
  }
  if (owned !== core.pasidIda.size) f.add({}, `pasid: the IDA holds ${core.pasidIda.size} PASIDs, live mms own ${owned}`);
}

function check({ world, cmd }: CheckContext): readonly Violation[] {
  const quiet = world.kernel.srcuCallbacks.length === 0 && noBonds(world);
  const was = wasQuiet.get(world);
  const before = was.quiet;
  was.quiet = quiet;
  if (!quiet) return NO_VIOLATIONS;
  const f = findings.begin();
  if (fullCheck(before, cmd)) for (const leak of findLeaks(world)) f.add({}, `${leak.kind}: ${leak.what}`);
  else coreSubset(world, f);
  for (const what of platformOf(world).quiescenceLeaks(world)) f.add({}, `driver: ${what}`);
  return f.done();
}

export const quiescence: Invariant = {
  id: 'I11',
  title: 'Quiescence: with no binds and no grace period pending, nothing SVA remains',
  kernelRule:
    'With no binds: no SVA domains, handles, pasid_array entries, notifiers, cache tags, master_domains or ASIDs; the global IDA holds exactly the PASIDs of live iommu_mms.',
  source: 'drivers/iommu/iommu-sva.c: iommu_sva_unbind_device, mm_pasid_drop; intel/svm.c: intel_mm_free_notifier; arm-smmu-v3-sva.c: arm_smmu_sva_domain_free (v6.17); a21518cb23a3 (B04)',
  check,
};
