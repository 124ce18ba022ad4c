import { describe, expect, test } from 'vitest';
import { runMain } from '../captureIo.js';

const machines = async () => [
  { name: 'mm', mermaid: 'stateDiagram-v2\n  [*] --> unborn\n' },
  { name: 'bond', mermaid: 'stateDiagram-v2\n  [*] --> unbound\n' },
];

describe('machines', () => {
  test('All machines print as Markdown with one Mermaid block each; --machine picks one plain document', async () => {
    const all = await runMain(['machines'], { machines });
    expect(all).toMatchObject({ code: 0, stderr: '' });
    expect(all.stdout).toBe('## mm\n\n```mermaid\nstateDiagram-v2\n  [*] --> unborn\n```\n\n## bond\n\n```mermaid\nstateDiagram-v2\n  [*] --> unbound\n```\n');
    const refused = await runMain(['machines', '--format', 'mermaid'], { machines });
    expect(refused).toMatchObject({ code: 2, errLines: [expect.stringMatching(/a Mermaid document holds one diagram: pick one with --machine/)] });
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
    expect(r.stdout).toMatch(/^---\ntitle: mm .*\n---\nstateDiagram-v2\n/);
    // Descriptions are labels (after a line break), not invisible comments.
    expect(r.stdout).not.toMatch(/%%/);
    expect(r.stdout).toMatch(/unborn --> live : spawn<br\/>A process starts/);
    expect(r.stdout).toMatch(/\[\*\] --> /);
  });
});
