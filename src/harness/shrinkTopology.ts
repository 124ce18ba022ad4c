/**
 * Topology shrinking: after the commands are 1-minimal, drop the IOMMUs, devices, mm slots,
 * user pages and kernel pages the counterexample does not need, renumbering the ids the
 * commands use, and keep each removal only if the sequence still breaks the same invariant
 * (a device no command names may still matter: a group peer, a second IOMMU that must be
 * flushed). Removal is tried one object at a time, highest id first, to a fixpoint.
 */
import type { Command, Topology } from '../shared/index.js';
import type { TraceGroup } from '../trace/index.js';
import { topologyError } from '../shared/index.js';

type Fields = Record<string, unknown>;

/** A command with every id field of one kind passed through `map`; undefined drops it. */
const renumber = (cmd: Command, keys: readonly string[], map: (n: number) => number | undefined): Command | undefined => {
  const out: Fields = { ...cmd };
  for (const k of keys) {
    const v = out[k];
    if (typeof v !== 'number') continue;
    const n = map(v);
    if (n === undefined) return undefined;
    out[k] = n;
  }
  return out as unknown as Command;
};

const after = (removed: number) => (n: number): number | undefined => (n === removed ? undefined : n > removed ? n - 1 : n);

const mapAll = (commands: readonly Command[], f: (c: Command) => Command | undefined): Command[] | undefined => {
  const out: Command[] = [];
  for (const c of commands) {
    const m = f(c);
    if (m === undefined) return undefined;
    out.push(m);
  }
  return out;
};

export interface Candidate {
  readonly topology: Topology;
  readonly commands: readonly Command[];
  /** Concurrent groups among the commands (minimize.ts); a topology removal keeps every command, so they stay valid. */
  readonly groups?: readonly TraceGroup[];
}

const withoutDevice = (t: Topology, commands: readonly Command[], d: number): Candidate | undefined => {
  if (t.devices.length <= 1) return undefined;
  const cmds = mapAll(commands, (c) => renumber(c, ['dev'], after(d)));
  return cmds && { topology: { ...t, devices: t.devices.filter((_, i) => i !== d) }, commands: cmds };
};

const withoutIommu = (t: Topology, commands: readonly Command[], u: number): Candidate | undefined => {
  if (t.iommus.length <= 1 || t.devices.some((d) => d.iommu === u)) return undefined;
  const devices = t.devices.map((d) => (d.iommu > u ? { ...d, iommu: d.iommu - 1 } : d));
  return { topology: { ...t, iommus: t.iommus.filter((_, i) => i !== u), devices }, commands };
};

const withoutMm = (t: Topology, commands: readonly Command[], m: number): Candidate | undefined => {
  if (t.mms <= 1) return undefined;
  const cmds = mapAll(commands, (c) => renumber(c, ['mm', 'child'], after(m)));
  return cmds && { topology: { ...t, mms: t.mms - 1 }, commands: cmds };
};

/** A page no command names by index: ranges over it lose it, ranges above it move down. */
const withoutPage = (t: Topology, commands: readonly Command[], p: number): Candidate | undefined => {
  if (t.pages <= 1) return undefined;
  const cmds = mapAll(commands, (c) => {
    const moved = renumber(c, ['page'], after(p));
    if (moved === undefined) return undefined;
    const f = moved as unknown as Fields;
    if (typeof f.first !== 'number' || typeof f.count !== 'number') return moved;
    const first = f.first;
    const count = f.count;
    if (p < first) return { ...f, first: first - 1 } as unknown as Command;
    if (p >= first + count) return moved;
    return count === 1 ? undefined : ({ ...f, count: count - 1 } as unknown as Command);
  });
  return cmds && { topology: { ...t, pages: t.pages - 1 }, commands: cmds };
};

const withoutKpage = (t: Topology, commands: readonly Command[], k: number): Candidate | undefined => {
  if (t.kpages <= 0) return undefined;
  const cmds = mapAll(commands, (c) => renumber(c, ['kpage'], after(k)));
  return cmds && { topology: { ...t, kpages: t.kpages - 1 }, commands: cmds };
};

/** Groups numbered densely in order of first appearance: labels only, so a reader sees 0, 1, … */
const denseGroups = (t: Topology): Topology => {
  const seen = new Map<number, number>();
  const devices = t.devices.map((d) => {
    if (!seen.has(d.group)) seen.set(d.group, seen.size);
    return { ...d, group: seen.get(d.group)! };
  });
  return { ...t, devices };
};

const REMOVALS: readonly { readonly count: (t: Topology) => number; readonly without: (t: Topology, c: readonly Command[], i: number) => Candidate | undefined }[] = [
  { count: (t) => t.devices.length, without: withoutDevice },
  { count: (t) => t.iommus.length, without: withoutIommu },
  { count: (t) => t.mms, without: withoutMm },
  { count: (t) => t.pages, without: withoutPage },
  { count: (t) => t.kpages, without: withoutKpage },
];

/**
 * The smallest topology (by single removals) on which `stillFails` holds; `stillFails` gets
 * only valid topologies. Returns the input when nothing can go.
 */
export const shrinkTopology = (start: Candidate, stillFails: (c: Candidate) => boolean): Candidate => {
  let current = start;
  let shrunk = true;
  while (shrunk) {
    shrunk = false;
    for (const r of REMOVALS) {
      for (let i = r.count(current.topology) - 1; i >= 0; i--) {
        const next = r.without(current.topology, current.commands, i);
        if (next === undefined || topologyError(next.topology) !== undefined) continue;
        if (stillFails(next)) {
          current = next;
          shrunk = true;
        }
      }
    }
  }
  const dense = { ...current, topology: denseGroups(current.topology) };
  return stillFails(dense) ? dense : current;
};
