/**
 * A lifecycle machine as a Mermaid stateDiagram-v2, read from the machine's own definition
 * (machine.root), so the drawing cannot drift from what the spec runs. One machine is one
 * document (Mermaid renders one diagram per document); its name is the diagram's title and
 * each transition's description is part of its label, on a second line.
 */
import type { AnyStateMachine } from 'xstate';

const label = (x: unknown): string =>
  typeof x === 'string' ? x : x !== null && typeof x === 'object' ? String((x as { type?: unknown }).type) : String(x);

/** Label text: no ':', ';', '#' or newline (Mermaid's separators and entity start). */
const clean = (s: string): string => s.replace(/[:;#\n]/g, ' ').replace(/[<>]/g, '').replace(/\s+/g, ' ').trim();

/** Wrap a description into lines of about `width` characters, joined by Mermaid's <br/>. */
const wrap = (s: string, width = 48): string => {
  const out: string[] = [];
  let line = '';
  for (const word of s.split(' ')) {
    if (line !== '' && line.length + word.length + 1 > width) {
      out.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') out.push(line);
  return out.join('<br/>');
};

export const toMermaid = (machine: AnyStateMachine): string => {
  const lines = ['---', `title: ${clean(machine.id)} (generated from the xstate machine definition)`, '---', 'stateDiagram-v2'];
  const initial = machine.root.initial?.target?.[0]?.key;
  if (initial !== undefined) lines.push(`  [*] --> ${initial}`);
  for (const node of Object.values(machine.root.states)) {
    for (const [event, defs] of node.transitions) {
      for (const def of defs) {
        const target = def.target?.[0]?.key ?? node.key;
        const guard = def.guard === undefined ? '' : ` [${label(def.guard)}]`;
        const actions = def.actions.length === 0 ? '' : ` / ${def.actions.map(label).join(', ')}`;
        const head = clean(`${event}${guard}${actions}`);
        const text = def.description === undefined ? head : `${head}<br/>${wrap(clean(def.description))}`;
        lines.push(`  ${node.key} --> ${target} : ${text}`);
      }
    }
    if (node.type === 'final') lines.push(`  ${node.key} --> [*]`);
  }
  return `${lines.join('\n')}\n`;
};
