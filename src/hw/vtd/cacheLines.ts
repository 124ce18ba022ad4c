/**
 * The VT-d caches as one line per entry, for a recorded timeline's evictions: what an
 * invalidation descriptor removed is the difference of these lines before and after it.
 * Used only when a trace sink is attached.
 */
import type { QiDesc } from './descriptor.js';
import type { VtdUnit } from './unit.js';

export const vtdCacheLines = (u: VtdUnit, d: QiDesc): string[] => {
  const out: string[] = [];
  for (const e of u.pasidCache.entries()) out.push(`PASID cache sid ${e.sid} PASID ${e.pasid}`);
  for (const e of u.iotlb.entries()) out.push(`IOTLB DID ${e.did} PASID ${e.pasid} vpn 0x${e.vpn.toString(16)}`);
  for (const e of u.iotlb.nestedEntries()) out.push(`IOTLB nested DID ${e.did} PASID ${e.pasid} vpn 0x${e.vpn.toString(16)}`);
  for (const e of u.psc.entries()) out.push(`PSC DID ${e.did} PASID ${e.pasid} level ${e.level} prefix 0x${e.prefix.toString(16)} → table ${e.frame}`);
  if (d.kind === 'devtlb') {
    const dev = u.deviceOf(d.sid);
    for (const e of dev?.atcEntries() ?? []) out.push(`${dev!.name} ATC PASID ${e.pasid} vpn 0x${e.vpn.toString(16)}`);
  }
  return out;
};
