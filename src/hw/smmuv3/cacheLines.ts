/**
 * The SMMUv3 caches as one line per entry, for a recorded timeline's evictions (the difference
 * before and after a command takes effect). Used only when a trace sink is attached.
 */
import type { PciDevice } from '../device.js';
import type { SmmuV3 } from './smmuV3.js';

export const smmuCacheLines = (u: SmmuV3, dev: PciDevice | undefined): string[] => {
  const out: string[] = [];
  for (const e of u.config.cdEntries()) out.push(`CD cache sid ${e.sid} ssid ${e.ssid}`);
  for (const e of u.tlb.entries()) out.push(`TLB ASID ${e.asid} vpn 0x${e.vpn.toString(16)}`);
  for (const e of u.walkCache.entries()) out.push(`walk cache ASID ${e.asid} level ${e.level} prefix 0x${e.prefix.toString(16)} → table ${e.table}`);
  for (const e of dev?.atcEntries() ?? []) out.push(`${dev!.name} ATC PASID ${e.pasid} vpn 0x${e.vpn.toString(16)}`);
  return out;
};
