/**
 * unplug(dev): surprise removal; the driver's remove unbinds everything the device holds.
 *
 * Generated only where the correct kernel is expected to survive it:
 * - VT-d only. On SMMUv3 (and AMD: device_flush_iotlb, v6.19-rc) the unbind path issues ATC_INV to the removed master with no
 *   pci_dev_is_disconnected check (arm_smmu_atc_inv_master), which the emulated SMMU times out
 *   (CMD_SYNC time-out: I-QUEUE) in the fixed kernel too.
 * - Devices without PRI. intel_iommu_drain_pasid_prq (prq.c, unchanged to v7.0-rc5) sends its
 *   devTLB invalidation unconditionally, so a removed PRI device's drain times out once
 *   (qi_check_fault gives up with -ETIMEDOUT since 6ba59ff42279): the known upstream finding
 *   vtd-drain-devtlb-absent (regressions/upstream/). Generating it was tried (responses to a
 *   gone device are now lost in the spec and the hw): with --fix on, the faults the drain
 *   serves can still flush the removed device's devTLB cache tag (cache_tag_flush_range) when
 *   their handling invalidates (here x86's write-upgrade flush, a deviation; a COW break in
 *   the kernel), so the finding's fix would need that path too. Left for a follow-up.
 * - Devices alone in their group (the spec's precondition: group removal is not modelled).
 * A hand-written trace may still unplug any device alone in its group.
 */
import fc from 'fast-check';
import type { Topology } from '../../src/shared/index.js';
import { unpluggable } from '../../src/harness/enabled.js';
import { SvaCommand } from '../model.js';

/** The devices the generators may unplug in `t` (the policy above lives with the enabled sets). */
export { unpluggable };

export const unplugCommand = (t: Topology): fc.Arbitrary<SvaCommand> =>
  fc.constantFrom(...unpluggable(t)).map((dev) => new SvaCommand({ kind: 'unplug', dev }));
