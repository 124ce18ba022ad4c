/**
 * The state diff at the failing step, limited to what the counterexample is about: the spec's
 * abstract view holds every mm slot, and a change to a slot the violation and its command do
 * not name is noise for the reader (it is still counted).
 */
import { diffJson } from '../trace/index.js';
import type { Trace } from '../trace/index.js';

const slotOf = /^slots\[(\d+)\]/;

export interface StateDiff {
  readonly lines: readonly string[];
  readonly hidden: number;
}

export const relevantStateDiff = (trace: Trace, before: unknown, after: unknown): StateDiff => {
  const all = diffJson(before, after);
  const v = trace.violation;
  if (v === undefined) return { lines: all, hidden: 0 };
  const cmd = trace.commands[v.step] as Readonly<Record<string, unknown>> | undefined;
  const slots = new Set<number>();
  for (const key of ['mm', 'child']) {
    const n = v.objects[key] ?? cmd?.[key];
    if (typeof n === 'number') slots.add(n);
  }
  const lines = all.filter((l) => {
    const m = slotOf.exec(l);
    return m === null || slots.has(Number(m[1]));
  });
  return { lines, hidden: all.length - lines.length };
};

export const formatStateDiff = (step: number, d: StateDiff): string => {
  const body = d.lines.length === 0 ? '  (no change)\n' : d.lines.map((l) => `  ${l}\n`).join('');
  const hidden = d.hidden === 0 ? '' : `  (${d.hidden} change(s) to mm slots the violation does not name not shown)\n`;
  return `spec state diff at step #${step} (abstract view before → after):\n${body}${hidden}`;
};
