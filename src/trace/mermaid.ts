import { LANES, sameObservation } from '../shared/index.js';
import type { Command, Lane, TraceEvent } from '../shared/index.js';
import { formatCommand, formatObservation } from './timeline.js';
import type { Trace } from './trace.js';

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
      return { from: 'cpu', to: 'core' };
    case 'dma':
    case 'dmaIova':
    case 'prefetch':
    case 'prefetchKernel':
    case 'prg':
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
 * The trace as a Mermaid `sequenceDiagram` (see sequenceModel); the failing step is shaded
 * and carries the violation as a note across all lanes.
 */
export const traceToMermaid = (trace: Trace): string => {
  const lines = ['sequenceDiagram'];
  for (const lane of LANES) lines.push(`  participant ${lane} as ${LANE_LABEL[lane]}`);
  const first = LANES[0]!;
  const last = LANES[LANES.length - 1]!;
  for (const step of sequenceModel(trace)) {
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
