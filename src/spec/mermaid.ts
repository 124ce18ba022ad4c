/**
 * A lifecycle machine as a Mermaid stateDiagram-v2, read from the machine's own definition
 * (machine.root), so the drawing cannot drift from what the spec runs.
 */
import type { AnyStateMachine } from 'xstate';

const label = (x: unknown): string =>
  typeof x === 'string' ? x : x !== null && typeof x === 'object' ? String((x as { type?: unknown }).type) : String(x);

/** Mermaid label text cannot contain ':' or newlines; keep the rest readable. */
const clean = (s: string): string => s.replace(/[:\n]/g, ' ').replace(/\s+/g, ' ').trim();

export const toMermaid = (machine: AnyStateMachine): string => {
  const lines = ['stateDiagram-v2', `  %% ${machine.id}: generated from the xstate machine definition`];
  const initial = machine.root.initial?.target?.[0]?.key;
  if (initial !== undefined) lines.push(`  [*] --> ${initial}`);
  for (const node of Object.values(machine.root.states)) {
    for (const [event, defs] of node.transitions) {
      for (const def of defs) {
        const target = def.target?.[0]?.key ?? node.key;
        const guard = def.guard === undefined ? '' : ` [${label(def.guard)}]`;
        const actions = def.actions.length === 0 ? '' : ` / ${def.actions.map(label).join(', ')}`;
        lines.push(`  ${node.key} --> ${target} : ${clean(`${event}${guard}${actions}`)}`);
        if (def.description !== undefined) lines.push(`  %% ${clean(def.description)}`);
      }
    }
    if (node.type === 'final') lines.push(`  ${node.key} --> [*]`);
  }
  return `${lines.join('\n')}\n`;
};
