import { describe, expect, test } from 'vitest';
import { bondMachine, domainMachine, mmMachine, pasidMachine, toMermaid } from '../../src/spec/index.js';

describe('toMermaid', () => {
  test('draws the bond machine with its initial state, guards, actions and self-loops', () => {
    const text = toMermaid(bondMachine);
    const lines = text.split('\n');
    // One document per machine: its title in the front matter, then the diagram.
    expect(lines.slice(0, 4)).toEqual(['---', 'title: bond (generated from the xstate machine definition)', '---', 'stateDiagram-v2']);
    expect(lines).toContain('  [*] --> unbound');
    // Each label: event, guard, actions, then the transition's description after a line break.
    const label = (edge: string): string | undefined => lines.find((l) => l.startsWith(`  ${edge}<br/>`));
    expect(label('unbound --> bound : bind / take a reference')).toMatch(/<br\/>iommu_sva_bind_device succeeds/);
    expect(label('bound --> bound : unbind [other references remain] / drop a reference')).toBeDefined();
    expect(label('bound --> defunct : exit')).toBeDefined();
    expect(label('defunct --> unbound : unbind / drop a reference')).toBeDefined();
    expect(text).not.toContain('%%');
  });

  test('marks final states and draws one edge per declared transition', () => {
    const pasid = toMermaid(pasidMachine);
    expect(pasid).toContain('  freed --> [*]');
    const edges = (t: string) => t.split('\n').filter((l) => / --> /.test(l) && !l.includes('[*]')).length;
    expect(edges(toMermaid(mmMachine))).toBe(8);
    expect(edges(toMermaid(domainMachine))).toBe(5);
    // no label may contain ':' after the separator (Mermaid would cut it)
    for (const l of toMermaid(mmMachine).split('\n').filter((x) => x.includes(' : '))) {
      expect(l.split(' : ')[1]).not.toContain(':');
    }
  });
});
