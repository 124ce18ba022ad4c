import { LANES, sameObservation } from '../shared/index.js';
import type { Command, Lane, TraceEvent } from '../shared/index.js';
import { formatCommand, formatObservation, groupLaneNames } from './timeline.js';
import type { GroupEvent, Trace, TraceGroup } from './trace.js';

/** Participant labels, one per trace lane (src/shared/lane.ts), in the diagram's column order. */
const LANE_LABEL: Readonly<Record<Lane, string>> = {
  cpu: 'CPU / mm',
  core: 'SVA core',
  driver: 'IOMMU driver',
  queue: 'invalidation queue',
  cache: 'IOMMU caches',
  device: 'device',
};

/**
 * Text safe inside a Mermaid message or note. Mermaid's lexer ends a text at `#`, `;` or a
 * newline and treats `<...>` as HTML, so everything outside a small printable set becomes a
 * `#<code point>;` entity (Mermaid's own escape, decoded when rendering).
 */
export const escapeMermaid = (text: string): string => {
  let out = '';
  for (const ch of text) out += /^[A-Za-z0-9 .,:()_=+/[\]'*?!@|^~$-]$/.test(ch) ? ch : `#${ch.codePointAt(0)};`;
  out = out.trim();
  if (out === '') return '#32;';
  // `wrap:` / `nowrap:` right after the colon are directives, not text.
  return /^(no)?wrap:/i.test(out) ? `#${out.codePointAt(0)};${out.slice(1)}` : out;
};

/**
 * Who issues a command and to whom: the process calls the SVA API (bind, unbind) or its own
 * mm (mmap, munmap, exit, vmalloc, ...); a device's DMA goes to its IOMMU; the grace period
 * and the IOPF workqueue run inside the kernel.
 */
const callOf = (cmd: Command): { from: Lane; to: Lane } => {
  switch (cmd.kind) {
    case 'bind':
    case 'unbind':
    case 'attachPasid':
    case 'replacePasid':
    case 'detachPasid':
    case 'iommuMap':
    case 'iommuUnmap':
    case 'guestMap':
    case 'guestUnmap':
    case 'destroyHwpt':
      return { from: 'cpu', to: 'core' };
    case 'dma':
    case 'dmaIova':
    case 'dmaPasid':
    case 'prefetch':
    case 'prefetchKernel':
    case 'prg':
    case 'stopMarker':
      return { from: 'device', to: 'cache' };
    case 'unplug':
      return { from: 'device', to: 'device' };
    case 'gracePeriod':
    case 'serviceFaults':
      return { from: 'core', to: 'core' };
    case 'mmap': case 'touch': case 'munmap': case 'mprotect': case 'exit': case 'mmdrop':
    case 'fork': case 'spawn': case 'vmalloc': case 'vfree': case 'failNext': case 'failNth': case 'migrate':
      return { from: 'cpu', to: 'cpu' };
    default: {
      const never: never = cmd;
      throw new Error(`callOf: unknown command ${JSON.stringify(never)}`);
    }
  }
};

type Drawn = { readonly kind: 'call' | 'reply'; readonly from: Lane; readonly to: Lane } | { readonly kind: 'note'; readonly lane: Lane };

/**
 * An event as an arrow between lanes when it is a call (core → driver → queue → cache →
 * device, and the device's requests back into the IOMMU), as a note when it records state (a
 * cache fill, a cache tag, a PASID assigned).
 */
const drawEvent = (e: TraceEvent): Drawn => {
  switch (e.lane) {
    case 'driver':
      if (/^[\w>-]+ → /.test(e.text)) return { kind: 'reply', from: 'driver', to: 'core' };
      if (/^[\w>-]+\(/.test(e.text)) return { kind: 'call', from: 'core', to: 'driver' };
      return { kind: 'note', lane: 'driver' };
    case 'queue':
      if (/^(PRQ|EVTQ)/.test(e.text)) return { kind: 'call', from: 'device', to: 'queue' };
      if (/^(wait done|wait aborted|CMD_SYNC (completed|timeout))/.test(e.text)) return { kind: 'reply', from: 'queue', to: 'driver' };
      return { kind: 'call', from: 'driver', to: 'queue' };
    case 'cache':
      // A device-TLB / ATC invalidation travels on to the endpoint; the others stay in the IOMMU.
      if (/^apply (devtlb|ATC_INV)\b/.test(e.text)) return { kind: 'call', from: 'queue', to: 'device' };
      if (/^apply /.test(e.text)) return { kind: 'call', from: 'queue', to: 'cache' };
      return { kind: 'note', lane: 'cache' };
    case 'core':
      if (/^invalidate /.test(e.text)) return { kind: 'call', from: 'cpu', to: 'core' };
      return { kind: 'note', lane: 'core' };
    case 'cpu':
    case 'device':
      return { kind: 'note', lane: e.lane };
    default: {
      const never: never = e.lane;
      throw new Error(`drawEvent: unknown lane ${String(never)}`);
    }
  }
};

/** One drawn item: an arrow between two lanes (a call or its reply) or a note on a lane. */
export type SequenceItem =
  | { readonly kind: 'call' | 'reply'; readonly from: Lane; readonly to: Lane; readonly text: string }
  | { readonly kind: 'note'; readonly lane: Lane; readonly text: string };

export interface SequenceStep {
  readonly index: number;
  readonly failing: boolean;
  readonly items: readonly SequenceItem[];
}

/** The participant label of a lane. */
export const laneLabel = (lane: Lane): string => LANE_LABEL[lane];

/**
 * The drawing of a trace, independent of the notation: each command an arrow from its issuer,
 * the calls it causes as arrows between lanes, state changes as notes, the result as the
 * reply. Mermaid (below) and the HTML viewer's SVG draw the same model.
 */
export const sequenceModel = (trace: Trace): SequenceStep[] => {
  const v = trace.violation;
  return trace.commands.map((cmd, i) => {
    const step = trace.steps[i];
    const items: SequenceItem[] = [];
    const { from, to } = callOf(cmd);
    items.push({ kind: 'call', from, to, text: `[${i}] ${formatCommand(cmd)}` });
    for (const e of step?.events ?? []) {
      const d = drawEvent(e);
      const text = `${e.actor}: ${e.text}`;
      items.push(d.kind === 'note' ? { kind: 'note', lane: d.lane, text } : { kind: d.kind, from: d.from, to: d.to, text });
    }
    if (step !== undefined) {
      const actual = formatObservation(cmd, step.actual);
      const same = sameObservation(step.expected, step.actual);
      const reply = same ? actual : `${actual} MISMATCH, expected ${formatObservation(cmd, step.expected)}`;
      // A plain `ok` of a lane's call to itself says nothing the call did not.
      if (from !== to || !same || actual !== 'ok') items.push({ kind: 'reply', from: to, to: from, text: reply });
    }
    return { index: i, failing: v !== undefined && v.step === i, items };
  });
};

/** The violation's one-line text, as the diagrams show it across all lanes. */
export const violationNote = (trace: Trace): string | undefined => {
  const v = trace.violation;
  if (v === undefined) return undefined;
  const objects = Object.entries(v.objects).map(([k, n]) => `${k}=${n}`).join(' ');
  return `VIOLATION ${v.invariant} ${v.title}: ${v.message}${objects === '' ? '' : ` [${objects}]`}`;
};

/**
 * The task participants of a trace's groups, in order of first appearance: `cpu0`, `cpu1`,
 * `dev0`, `kworker/u8:1`... One participant per task name, so the lanes of successive groups
 * line up; the member's command is on its first note in each group.
 */
const taskParticipants = (trace: Trace): Map<string, string> => {
  const ids = new Map<string, string>();
  for (const g of trace.groups ?? []) {
    const names = g.tasks?.map((t) => t.name) ?? Array.from({ length: g.size }, (_, i) => `task${i}`);
    for (const n of names) if (!ids.has(n)) ids.set(n, `t${ids.size}`);
  }
  return ids;
};

/**
 * A group in the diagram: the members' commands as notes on their task lanes, every event on
 * the lane of the task that emitted it, in the order the tasks ran, and each context switch as
 * a dashed arrow from the task that was running to the one that runs next.
 */
const groupMermaid = (trace: Trace, g: TraceGroup, ids: Map<string, string>, pad: string): string[] => {
  const lines: string[] = [];
  const names = g.tasks?.map((t) => t.name) ?? Array.from({ length: g.size }, (_, i) => `task${i}`);
  const labels = groupLaneNames(trace, g);
  const id = (task: number): string => ids.get(names[task] ?? '') ?? ids.values().next().value!;
  const d = g.depth === undefined ? '' : ` d=${g.depth}`;
  lines.push(`${pad}Note over ${id(0)},${id(g.size - 1)}: ${escapeMermaid(`group [${g.at}..${g.at + g.size - 1}] ${g.scheduler} seed ${g.seed}${d}`)}`);
  for (let i = 0; i < g.size; i++) lines.push(`${pad}Note over ${id(i)}: ${escapeMermaid(`[${g.at + i}] ${labels[i]}`)}`);
  const events: GroupEvent[] = [];
  for (let k = 0; k < g.size; k++) for (const e of trace.steps[g.at + k]?.events ?? []) if ('task' in e && 'at' in e) events.push(e);
  events.sort((a, b) => a.at - b.at);
  let next = 0;
  let running = -1;
  const flush = (upTo: number): void => {
    for (; next < events.length && events[next]!.at <= upTo; next++) {
      const e = events[next]!;
      lines.push(`${pad}Note over ${id(e.task)}: ${escapeMermaid(`${e.actor}: ${e.text}`)}`);
    }
  };
  for (const p of g.points ?? []) {
    if (p.switched && running >= 0 && running !== p.task) lines.push(`${pad}${id(running)}-->>${id(p.task)}: ${escapeMermaid(`switch at point ${p.at}`)}`);
    running = p.task;
    flush(p.at);
    if (p.what !== 'done') lines.push(`${pad}Note over ${id(p.task)}: ${escapeMermaid(`yield: ${p.what}`)}`);
  }
  flush(Number.POSITIVE_INFINITY);
  for (let i = 0; i < g.size; i++) {
    const step = trace.steps[g.at + i];
    const cmd = trace.commands[g.at + i];
    if (step === undefined || cmd === undefined) continue;
    const actual = formatObservation(cmd, step.actual);
    const same = sameObservation(step.expected, step.actual);
    lines.push(`${pad}Note over ${id(i)}: ${escapeMermaid(same ? `→ ${actual}` : `→ ${actual} MISMATCH, expected ${formatObservation(cmd, step.expected)}`)}`);
  }
  return lines;
};

/**
 * The trace as a Mermaid `sequenceDiagram` (see sequenceModel); the failing step is shaded
 * and carries the violation as a note across all lanes. A trace with concurrent groups gets
 * one more participant per task (groupMermaid); its sequential steps draw as before.
 */
export const traceToMermaid = (trace: Trace): string => {
  const lines = ['sequenceDiagram'];
  for (const lane of LANES) lines.push(`  participant ${lane} as ${LANE_LABEL[lane]}`);
  const ids = taskParticipants(trace);
  for (const [name, id] of ids) lines.push(`  participant ${id} as ${escapeMermaid(`task ${name}`)}`);
  const first = LANES[0]!;
  const last = ids.size > 0 ? [...ids.values()][ids.size - 1]! : LANES[LANES.length - 1]!;
  const groupAt = new Map((trace.groups ?? []).map((g) => [g.at, g]));
  const model = sequenceModel(trace);
  for (let i = 0; i < model.length; i++) {
    const g = groupAt.get(i);
    if (g !== undefined) {
      const failing = model.slice(i, i + g.size).some((st) => st.failing);
      const pad = failing ? '    ' : '  ';
      if (failing) lines.push('  rect rgb(255, 228, 228)');
      lines.push(...groupMermaid(trace, g, ids, pad));
      if (failing) {
        lines.push(`${pad}Note over ${first},${last}: ${escapeMermaid(violationNote(trace)!)}`);
        lines.push('  end');
      }
      i += g.size - 1;
      continue;
    }
    const step = model[i]!;
    const pad = step.failing ? '    ' : '  ';
    if (step.failing) lines.push('  rect rgb(255, 228, 228)');
    for (const it of step.items) {
      if (it.kind === 'note') lines.push(`${pad}Note over ${it.lane}: ${escapeMermaid(it.text)}`);
      else lines.push(`${pad}${it.from}${it.kind === 'call' ? '->>' : '-->>'}${it.to}: ${escapeMermaid(it.text)}`);
    }
    if (step.failing) {
      lines.push(`${pad}Note over ${first},${last}: ${escapeMermaid(violationNote(trace)!)}`);
      lines.push('  end');
    }
  }
  return `${lines.join('\n')}\n`;
};
