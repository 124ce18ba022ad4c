/**
 * A group whose serviceFaults meets a page request mid-run (groupServicePasses.test.ts,
 * specRun.test.ts): VT-d with dev0 a PRI endpoint whose two credits a queued group holds, then
 * a request beside serviceFaults.
 */
import { defaultTopology } from '../../src/shared/index.js';
import type { Command, Topology } from '../../src/shared/index.js';

/** VT-d (the platform with page request groups) with dev0 a PRI endpoint. */
export const withPri = (): Topology => {
  const t = defaultTopology('vtd');
  return { ...t, devices: t.devices.map((d, i) => (i === 0 ? { ...d, ats: true, pri: true } : d)) };
};
const prg = (page: number, count: number): Command => ({ kind: 'prg', dev: 0, mm: 0, page, count, write: false, rid: false, last: true });
export const PREFIX: readonly Command[] = [
  { kind: 'spawn', mm: 0 }, { kind: 'mmap', mm: 0, first: 0, count: 4, prot: 'rw' }, { kind: 'bind', dev: 0, mm: 0 }, prg(0, 2),
];
export const GROUP: readonly Command[] = [prg(2, 1), { kind: 'serviceFaults' }];
