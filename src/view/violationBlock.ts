/**
 * The violation block of `replay` and `show`: what broke, the kernel rule it mirrors and where
 * that rule lives, the objects in kernel terms, the fault's fix when the run had one switched
 * on, and, for rules about invalidations, the hardware commands of the failing step beside the
 * ones the fixed kernel sends on the same sequence.
 */
import { INVARIANTS } from '../../properties/registry.js';
import { EXC_ID, OBS_ID } from '../harness/violation.js';
import { FAULTS } from '../shared/index.js';
import type { Platform, TraceEvent } from '../shared/index.js';
import { formatCommand, messageLines, oneLine } from '../trace/index.js';
import type { Trace } from '../trace/index.js';
import { kernelName, objectLabel } from './kernelNames.js';

/** Rules whose evidence is the invalidation traffic of the failing step. */
const INVALIDATION_RULES: ReadonlySet<string> = new Set(['I6', 'I7', 'I8', 'I9', 'I12', 'I14', 'I15', 'I-UAF-DMA', 'I-QUEUE']);

const HARNESS_RULES: Readonly<Record<string, { kernelRule: string; source: string }>> = {
  [OBS_ID]: {
    kernelRule: 'Every call returns what the reference spec predicts: the same errno, PASID, value or DMA content.',
    source: 'the spec (src/spec), from the kernel-doc of the SVA API (include/linux/iommu.h, drivers/iommu/iommu-sva.c)',
  },
  [EXC_ID]: {
    kernelRule: 'Kernel code returns an errno; it never oopses on a legal call sequence.',
    source: 'DESIGN §3: an exception out of the ported code is a finding',
  },
};

export interface RuleText {
  readonly title: string;
  readonly kernelRule: string;
  readonly source: string;
}

/** The invariant's rule, registered or the harness's own; undefined for an unknown id. */
export const ruleOf = (id: string): RuleText | undefined => {
  const inv = INVARIANTS.find((i) => i.id === id);
  if (inv !== undefined) return { title: inv.title, kernelRule: inv.kernelRule, source: inv.source };
  const own = HARNESS_RULES[id];
  return own === undefined ? undefined : { title: id === OBS_ID ? 'the observation refines the spec' : 'no exception out of the kernel logic', ...own };
};

/** A command sent to a queue (not its completion). */
const isSent = (e: TraceEvent): boolean =>
  e.lane === 'queue' && !/^(wait done|CMD_SYNC completed|CMD_SYNC timeout|wait aborted)/.test(e.text);

const sentAt = (trace: Trace, step: number): string[] =>
  (trace.steps[step]?.events ?? []).filter(isSent).map((e) => `${oneLine(e.actor)}: ${oneLine(e.text).replace(/^submit /, '')}`);

/** Two columns, the left padded to its widest line. */
const sideBySide = (left: readonly string[], right: readonly string[], headers: readonly [string, string]): string[] => {
  const l = left.length === 0 ? ['(nothing)'] : left;
  const r = right.length === 0 ? ['(nothing)'] : right;
  const width = Math.max(headers[0].length, ...l.map((s) => s.length));
  const out = [`${headers[0].padEnd(width)} | ${headers[1]}`, `${'-'.repeat(width)}-+-${'-'.repeat(headers[1].length)}`];
  for (let i = 0; i < Math.max(l.length, r.length); i++) out.push(`${(l[i] ?? '').padEnd(width)} | ${r[i] ?? ''}`.trimEnd());
  return out;
};

export interface HardwareComparison {
  readonly sent: readonly string[];
  /** What the fixed kernel sends at the same step; undefined when the run had no fault. */
  readonly required?: readonly string[];
}

/** The failing step's commands, beside the fixed kernel's when a fault was on. */
export const hardwareComparison = (trace: Trace, fixed: Trace | undefined): HardwareComparison | undefined => {
  const v = trace.violation;
  if (v === undefined || !INVALIDATION_RULES.has(v.invariant)) return undefined;
  const sent = sentAt(trace, v.step);
  return fixed === undefined ? { sent } : { sent, required: sentAt(fixed, v.step) };
};

/** Object lines: `mm2  struct mm_struct (mm slot)`, sorted by key as the serialiser stores them. */
export const objectLines = (platform: Platform, objects: Readonly<Record<string, number>>): string[] =>
  Object.entries(objects)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, n]) => `${objectLabel(platform, k, n).padEnd(10)} ${kernelName(platform, k)}`);

/**
 * The block, one element per line. `fixed` is the same commands replayed with the fault off
 * (the kernel after the fix), when the caller could run it.
 */
export const violationBlock = (trace: Trace, fixed?: Trace): string[] => {
  const v = trace.violation;
  if (v === undefined) return [];
  const cmd = trace.commands[v.step];
  const rule = ruleOf(v.invariant);
  const lines = [
    `VIOLATION ${oneLine(v.invariant)}: ${oneLine(rule?.title ?? v.title)}`,
    `  at step   #${v.step} ${cmd === undefined ? '' : formatCommand(cmd)}`,
  ];
  const [first, ...rest] = messageLines(v.message);
  lines.push(`  found     ${first}`, ...rest.map((l) => `            ${l}`));
  if (rule !== undefined) lines.push(`  rule      ${oneLine(rule.kernelRule)}`, `  source    ${oneLine(rule.source)}`);
  const objects = objectLines(trace.topology.platform, v.objects);
  if (objects.length > 0) lines.push('  objects', ...objects.map((o) => `    ${o}`));
  const fault = FAULTS.find((f) => f.id === trace.fault);
  if (fault !== undefined) lines.push(`  fault     ${fault.id}: ${fault.title}`, `  fixed by  ${fault.fix}`);
  else if (trace.fault !== undefined) lines.push(`  fault     ${oneLine(trace.fault)} (not in the corpus)`);
  const hw = hardwareComparison(trace, fixed);
  if (hw !== undefined) {
    lines.push(`  hardware commands at step #${v.step}`);
    // Without a fault there is no fixed kernel to compare with: the rule says what was due.
    const rows = hw.required === undefined
      ? (hw.sent.length === 0 ? ['sent: (nothing)'] : ['sent:', ...hw.sent.map((l) => `  ${l}`)])
      : sideBySide(hw.sent, hw.required, [`sent (${trace.fault} on)`, `required (${trace.fault} off: the fixed kernel)`]);
    lines.push(...rows.map((r) => `    ${r}`));
  }
  return lines;
};
