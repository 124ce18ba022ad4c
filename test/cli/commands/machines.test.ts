import { describe, expect, test } from 'vitest';
import { runMain } from '../captureIo.js';

const machines = async () => [
  { name: 'mm', mermaid: 'stateDiagram-v2\n  [*] --> unborn\n' },
  { name: 'bond', mermaid: 'stateDiagram-v2\n  [*] --> unbound\n' },
];

describe('machines', () => {
  test('All machines print as Mermaid, each named; --machine picks one; markdown wraps them', async () => {
    const all = await runMain(['machines'], { machines });
    expect(all).toMatchObject({ code: 0, stderr: '' });
    expect(all.stdout).toBe('%% machine: mm\nstateDiagram-v2\n  [*] --> unborn\n\n%% machine: bond\nstateDiagram-v2\n  [*] --> unbound\n');
    const one = await runMain(['machines', '--machine', 'bond'], { machines });
    expect(one.stdout).toBe('stateDiagram-v2\n  [*] --> unbound\n');
    const md = await runMain(['machines', '--format', 'markdown', '--machine', 'mm'], { machines });
    expect(md.stdout).toBe('## mm\n\n```mermaid\nstateDiagram-v2\n  [*] --> unborn\n```\n');
  });

  test('An unknown machine name is one line and exit 2', async () => {
    const r = await runMain(['machines', '--machine', 'iommu'], { machines });
    expect(r).toMatchObject({ code: 2, errLines: ["sva-harness machines: bad --machine 'iommu': expected one of mm, bond"] });
  });

  test('The real spec machines render as state diagrams', async () => {
    const r = await runMain(['machines', '--machine', 'mm']);
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith('stateDiagram-v2\n')).toBe(true);
    expect(r.stdout).toMatch(/\[\*\] --> /);
  });
});
