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
      return { from: 'cpu', to: 'core' };
    case 'dma':
    case 'prefetch':
    case 'prefetchKernel':
      return { from: 'device', to: 'cache' };
    case 'unplug':
      return { from: 'device', to: 'device' };
    case 'gracePeriod':
    case 'serviceFaults':
      return { from: 'core', to: 'core' };
    case 'mmap': case 'touch': case 'munmap': case 'mprotect': case 'exit': case 'mmdrop':
    case 'fork': case 'spawn': case 'vmalloc': case 'vfree': case 'failNext':
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

/**
 * The trace as a Mermaid `sequenceDiagram`: each command an arrow from its issuer, the calls
 * it causes as arrows between lanes, state changes as notes, the result as the reply; the
 * failing step is shaded and carries the violation as a note across all lanes.
 */
export const traceToMermaid = (trace: Trace): string => {
  const lines = ['sequenceDiagram'];
  for (const lane of LANES) lines.push(`  participant ${lane} as ${LANE_LABEL[lane]}`);
  const first = LANES[0]!;
  const last = LANES[LANES.length - 1]!;
  const v = trace.violation;
  for (const [i, cmd] of trace.commands.entries()) {
    const step = trace.steps[i];
    const failing = v !== undefined && v.step === i;
    const pad = failing ? '    ' : '  ';
    if (failing) lines.push('  rect rgb(255, 228, 228)');
    const { from, to } = callOf(cmd);
    lines.push(`${pad}${from}->>${to}: ${escapeMermaid(`[${i}] ${formatCommand(cmd)}`)}`);
    for (const e of step?.events ?? []) {
      const d = drawEvent(e);
      const text = escapeMermaid(`${e.actor}: ${e.text}`);
      if (d.kind === 'note') lines.push(`${pad}Note over ${d.lane}: ${text}`);
      else lines.push(`${pad}${d.from}${d.kind === 'call' ? '->>' : '-->>'}${d.to}: ${text}`);
    }
    if (step !== undefined) {
      const actual = formatObservation(cmd, step.actual);
      const same = sameObservation(step.expected, step.actual);
      const reply = same ? actual : `${actual} MISMATCH, expected ${formatObservation(cmd, step.expected)}`;
      // A plain `ok` of a lane's call to itself says nothing the call did not.
      if (from !== to || !same || actual !== 'ok') lines.push(`${pad}${to}-->>${from}: ${escapeMermaid(reply)}`);
    }
    if (failing) {
      const objects = Object.entries(v.objects).map(([k, n]) => `${k}=${n}`).join(' ');
      const text = `VIOLATION ${v.invariant} ${v.title}: ${v.message}${objects === '' ? '' : ` [${objects}]`}`;
      lines.push(`${pad}Note over ${first},${last}: ${escapeMermaid(text)}`);
      lines.push('  end');
    }
  }
  return `${lines.join('\n')}\n`;
};
