import { LANES, sameObservation } from '../shared/index.js';
import type { Command, Lane } from '../shared/index.js';
import { formatCommand, formatObservation } from './timeline.js';
import type { Trace } from './trace.js';

/** Participant labels, one per trace lane (src/shared/lane.ts), in the diagram's column order. */
const LANE_LABEL: Readonly<Record<Lane, string>> = {
  cpu: 'CPU/mm',
  core: 'SVA core',
  driver: 'driver',
  queue: 'IOMMU queue',
  cache: 'caches',
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

/** DMA and prefetch are issued by the device; everything else is a call from the process. */
const callerLane = (cmd: Command): Lane => (cmd.kind === 'dma' || cmd.kind === 'prefetch' || cmd.kind === 'prg' ? 'device' : 'cpu');

/**
 * The trace as a Mermaid `sequenceDiagram`: each command a message from its caller to the SVA
 * core, the step's events as notes on their lanes, the result as the reply; the failing step
 * is shaded and carries the violation as a note across all lanes.
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
    const caller = callerLane(cmd);
    lines.push(`${pad}${caller}->>core: ${escapeMermaid(`${i}: ${formatCommand(cmd)}`)}`);
    for (const e of step?.events ?? []) lines.push(`${pad}Note over ${e.lane}: ${escapeMermaid(`${e.actor}: ${e.text}`)}`);
    if (step !== undefined) {
      const actual = formatObservation(cmd, step.actual);
      const reply = sameObservation(step.expected, step.actual)
        ? actual
        : `${actual} MISMATCH, expected ${formatObservation(cmd, step.expected)}`;
      lines.push(`${pad}core-->>${caller}: ${escapeMermaid(reply)}`);
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
