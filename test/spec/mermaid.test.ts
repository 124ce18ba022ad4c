import { describe, expect, test } from 'vitest';
import { bondMachine, domainMachine, mmMachine, pasidMachine, toMermaid } from '../../src/spec/index.js';

describe('toMermaid', () => {
  test('draws the bond machine with its initial state, guards, actions and self-loops', () => {
    const text = toMermaid(bondMachine);
    const lines = text.split('\n');
    expect(lines[0]).toBe('stateDiagram-v2');
    expect(lines).toContain('  [*] --> unbound');
    expect(lines).toContain('  unbound --> bound : bind / take a reference');
    expect(lines).toContain('  bound --> bound : unbind [other references remain] / drop a reference');
    expect(lines).toContain('  bound --> defunct : exit');
    expect(lines).toContain('  defunct --> unbound : unbind / drop a reference');
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
