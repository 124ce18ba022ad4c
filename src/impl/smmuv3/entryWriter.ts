/**
 * drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c: arm_smmu_write_entry and its helpers (v6.17),
 * over field records instead of 64-bit words. Each field lives in one "qword"; `used` says
 * which fields the hardware reads for a given entry (the get_used op). The update is hitless
 * when only one qword's used fields change; otherwise V is cleared first. Every step that
 * changes memory is followed by the writer's sync (CFGI + CMD_SYNC), as entry_set does.
 *
 * entry_set stores the qwords one by one (WRITE_ONCE(entry[i], target[i]) in index order):
 * each changed qword is one write of the record with only that qword's fields new, followed
 * by the layout's preempt point, so a table walk between two stores of one step fetches the
 * half-written entry exactly as memory then holds it.
 */
import { type Co, type Yield } from '../core/sched.js';

export interface EntryLayout<E> {
  readonly fields: readonly (keyof E)[];
  /** The qword of each field, in `fields` order; qword 0 holds V. */
  readonly qword: readonly number[];
  /** Every field at its all-zero value (what `memset(0)` gives). */
  readonly zero: E;
  /** get_used: a bitmask over `fields`. */
  used(entry: E): number;
  /** The preempt point after each 64-bit store to the entry (one constant per entry kind). */
  readonly store: Yield;
}

export interface EntryWriter<E> {
  readonly layout: EntryLayout<E>;
  read(): E;
  write(entry: E): void;
  /** writer->ops->sync: make the written entry visible (CFGI_* + CMD_SYNC). */
  sync(): Co<unknown>;
}

const popcount = (x: number): number => {
  let n = 0;
  for (; x !== 0; x &= x - 1) n++;
  return n;
};

/** arm_smmu_entry_qword_diff: the intermediate entry and the qwords whose used fields change. */
function entry_qword_diff<E>(l: EntryLayout<E>, entry: E, target: E): { unused_update: E; diff: number } {
  const cur_used = l.used(entry);
  const target_used = l.used(target);
  const unused_update = { ...entry };
  let diff = 0;
  l.fields.forEach((f, i) => {
    // Fields the current entry ignores may already take their new values.
    if ((cur_used & (1 << i)) === 0) unused_update[f] = target[f];
    const seen = (target_used & (1 << i)) !== 0 ? unused_update[f] : l.zero[f];
    if (seen !== target[f]) diff |= 1 << l.qword[i]!;
  });
  return { unused_update, diff };
}

/** entry_set: store qwords [start, start + len) of `from`, one at a time; sync if anything changed. */
function* entry_set<E>(w: EntryWriter<E>, from: E, start: number, len: number): Co<boolean> {
  const l = w.layout;
  let changed = false;
  for (let q = start; q < start + len; q++) {
    let next: E | undefined;
    l.fields.forEach((f, i) => {
      if (l.qword[i] !== q) return;
      const cur = next ?? w.read();
      if (cur[f] === from[f]) return;
      next ??= { ...cur };
      next[f] = from[f];
    });
    // An unchanged qword's WRITE_ONCE stores the value memory holds: nothing to observe.
    if (next === undefined) continue;
    w.write(next);
    changed = true;
    yield l.store;
  }
  if (changed) yield* w.sync();
  return changed;
}

/** arm_smmu_write_entry: move the entry to `target` without the hardware seeing a torn one. */
export function* arm_smmu_write_entry<E>(w: EntryWriter<E>, target: E): Co {
  const l = w.layout;
  const nq = Math.max(...l.qword) + 1;
  const { unused_update, diff } = entry_qword_diff(l, w.read(), target);
  if (popcount(diff) === 1) {
    // Hitless: set what the entry ignores, then the one critical qword, then tidy up.
    const critical = Math.log2(diff & -diff);
    const cur = w.read();
    l.fields.forEach((f, i) => {
      if (l.qword[i] === critical) unused_update[f] = cur[f];
    });
    yield* entry_set(w, unused_update, 0, nq);
    yield* entry_set(w, target, critical, 1);
    yield* entry_set(w, target, 0, nq);
  } else if (diff !== 0) {
    // Breaking: V = 0 first, then the other qwords, then qword 0 with V.
    l.fields.forEach((f, i) => {
      if (l.qword[i] === 0) unused_update[f] = l.zero[f];
    });
    yield* entry_set(w, unused_update, 0, 1);
    yield* entry_set(w, target, 1, nq - 1);
    yield* entry_set(w, target, 0, 1);
  } else {
    yield* entry_set(w, target, 0, nq);
  }
}
