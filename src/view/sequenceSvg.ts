/**
 * The sequence diagram as inline SVG, drawn from the same model as the Mermaid output
 * (src/trace/mermaid.ts sequenceModel), so the HTML viewer needs no script and no network.
 * Lanes are columns; a call is a solid arrow, a reply a dashed one, a note a box on its lane;
 * the failing step is shaded and ends with the violation across all lanes.
 */
import { LANES } from '../shared/index.js';
import type { Lane } from '../shared/index.js';
import { laneLabel, sequenceModel, violationNote } from '../trace/index.js';
import type { Trace } from '../trace/index.js';
import { escapeHtml } from './escape.js';

const COL = 190;
const LEFT = 20;
const ROW = 22;
const HEAD = 40;

const x = (lane: Lane): number => LEFT + COL / 2 + LANES.indexOf(lane) * COL;

export const sequenceSvg = (trace: Trace): string => {
  const body: string[] = [];
  let y = HEAD + 10;
  const width = LEFT * 2 + COL * LANES.length;
  for (const step of sequenceModel(trace)) {
    const top = y;
    const rows: string[] = [];
    for (const it of step.items) {
      y += ROW;
      const text = escapeHtml(it.text);
      if (it.kind === 'note') {
        const cx = x(it.lane);
        // Monospace 11px: about 6.7px a character; the box fits its text.
        rows.push(`<rect class="note" x="${cx - COL / 2 + 6}" y="${y - 15}" width="${Math.round(it.text.length * 6.7 + 8)}" height="18" rx="3"/>`,
          `<text class="note-text" x="${cx - COL / 2 + 10}" y="${y - 2}">${text}</text>`);
        continue;
      }
      const x1 = x(it.from);
      const x2 = x(it.to);
      const cls = it.kind === 'call' ? 'call' : 'reply';
      if (x1 === x2) {
        rows.push(`<path class="${cls}" d="M${x1} ${y - 4} h28 v8 h-26" marker-end="url(#arrow)"/>`,
          `<text class="msg" x="${x1 + 34}" y="${y + 2}">${text}</text>`);
      } else {
        rows.push(`<line class="${cls}" x1="${x1}" y1="${y}" x2="${x2 + (x2 > x1 ? -2 : 2)}" y2="${y}" marker-end="url(#arrow)"/>`,
          `<text class="msg" x="${Math.min(x1, x2) + 6}" y="${y - 4}">${text}</text>`);
      }
    }
    if (step.failing) {
      y += ROW;
      rows.push(`<text class="violation" x="${LEFT + 6}" y="${y}">${escapeHtml(violationNote(trace) ?? '')}</text>`);
      body.push(`<rect class="failing" x="${LEFT}" y="${top + 4}" width="${COL * LANES.length}" height="${y - top + 6}"/>`);
    }
    body.push(`<g class="step" data-step="${step.index}">${rows.join('')}</g>`);
    y += 8;
    body.push(`<line class="sep" x1="${LEFT}" y1="${y}" x2="${width - LEFT}" y2="${y}"/>`);
  }
  const height = y + 20;
  const heads = LANES.map((lane) =>
    `<rect class="head" x="${x(lane) - COL / 2 + 8}" y="8" width="${COL - 16}" height="24" rx="4"/>` +
    `<text class="head-text" x="${x(lane)}" y="25">${escapeHtml(laneLabel(lane))}</text>` +
    `<line class="life" x1="${x(lane)}" y1="${HEAD - 8}" x2="${x(lane)}" y2="${height - 10}"/>`).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" class="sequence" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">` +
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">' +
    '<path d="M0 0 L10 5 L0 10 z"/></marker></defs>' +
    `${heads}${body.join('')}</svg>`;
};
