/**
 * Stream table entries, after drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c (v6.17): the abort,
 * bypass and CD-table STEs, their used fields, and the hitless STE write whose steps are each
 * followed by CFGI_STE + CMD_SYNC. PREFETCH_CFG is not modelled (ARM_SMMU_OPT_SKIP_PREFETCH).
 */
import type { S1Dss, Ste } from '../../hw/smmuv3/index.js';
import { type Co, preemptPoint } from '../core/sched.js';
import { arm_smmu_write_entry, type EntryLayout } from './entryWriter.js';
import { arm_smmu_cmdq_issue_cmd_with_sync } from './inv.js';
import type { ArmSmmuMaster } from './structs.js';

const STE_FIELDS: readonly (keyof Ste)[] = ['v', 'config', 'cdTable', 's1cdmax', 's1dss', 'eats'];
const bit = (f: keyof Ste): number => 1 << STE_FIELDS.indexOf(f);

const STE_ZERO: Ste = { v: false, config: 'abort', cdTable: undefined, s1cdmax: 0, s1dss: 'terminate', eats: false };

/** arm_smmu_get_ste_used (v6.17), for the fields modelled (no stage 2, no SHCFG). */
export function arm_smmu_get_ste_used(ste: Ste): number {
  if (!ste.v) return bit('v');
  let used = bit('v') | bit('config');
  if (ste.config === 's1') used |= bit('cdTable') | bit('s1cdmax') | bit('s1dss') | bit('eats');
  return used;
}

export const STE_LAYOUT: EntryLayout<Ste> = {
  fields: STE_FIELDS,
  // Config, S1ContextPtr and S1CDMax in qword 0; S1DSS and EATS in qword 1.
  qword: [0, 0, 0, 0, 1, 1],
  zero: STE_ZERO,
  used: arm_smmu_get_ste_used,
  store: preemptPoint('arm_smmu_write_ste: WRITE_ONCE(ste->data[i])'),
};

/** arm_smmu_make_abort_ste (v6.17). */
export const arm_smmu_make_abort_ste = (): Ste => ({ ...STE_ZERO, v: true, config: 'abort' });

/** arm_smmu_make_bypass_ste (v6.17). */
export const arm_smmu_make_bypass_ste = (): Ste => ({ ...STE_ZERO, v: true, config: 'bypass' });

/** arm_smmu_make_cdtable_ste (v6.17): stage 1 through the master's CD table. */
export function arm_smmu_make_cdtable_ste(master: ArmSmmuMaster, ats_enabled: boolean, s1dss: S1Dss): Ste {
  const cd_table = master.cd_table;
  return { v: true, config: 's1', cdTable: cd_table.table, s1cdmax: cd_table.s1cdmax, s1dss, eats: ats_enabled };
}

/** arm_smmu_write_ste (v6.17). */
function* arm_smmu_write_ste(master: ArmSmmuMaster, sid: number, target: Ste): Co {
  const st = master.smmu.unit.streamTable;
  yield* arm_smmu_write_entry(
    {
      layout: STE_LAYOUT,
      read: () => st.read(sid),
      write: (ste) => st.write(sid, ste),
      sync: () => arm_smmu_cmdq_issue_cmd_with_sync(master.smmu, { kind: 'CFGI_STE', sid, leaf: true }),
    },
    target,
  );
}

/** arm_smmu_install_ste_for_dev (v6.17): remember what was installed, write each stream's STE. */
export function* arm_smmu_install_ste_for_dev(master: ArmSmmuMaster, target: Ste): Co {
  master.cd_table.in_ste = target.config === 's1';
  master.ste_ats_enabled = target.eats;
  const seen = new Set<number>();
  for (const sid of master.streams) {
    if (seen.has(sid)) continue; // bridged PCI devices may share a StreamID
    seen.add(sid);
    yield* arm_smmu_write_ste(master, sid, target);
  }
}
