import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { formatTimeline, serializeTrace, traceToMermaid } from '../../../src/trace/index.js';
import { violationBlock } from '../../../src/view/index.js';
import { sampleTrace } from '../../trace/sampleTrace.js';
import { runMain } from '../captureIo.js';

const dir = mkdtempSync(join(tmpdir(), 'sva-show-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('show', () => {
  test('A good trace prints as a timeline with its violation block, or as a Mermaid diagram, exit 0', async () => {
    const p = file('good.json', serializeTrace(sampleTrace()));
    const text = await runMain(['show', p]);
    expect(text).toMatchObject({ code: 0, stdout: `${formatTimeline(sampleTrace())}\n${violationBlock(sampleTrace()).join('\n')}\n`, stderr: '' });
    const mermaid = await runMain(['show', p, '--format', 'mermaid']);
    expect(mermaid).toMatchObject({ code: 0, stdout: traceToMermaid(sampleTrace()), stderr: '' });
  });

  test('A bad trace gets one line naming the file and the problem, exit 2', async () => {
    const bad = JSON.parse(serializeTrace(sampleTrace())) as { commands: unknown[] };
    bad.commands[1] = { kind: 'bind', dev: 7, mm: 0 };
    const cases: [string, string, RegExp][] = [
      ['range.json', JSON.stringify(bad), /range\.json: commands\[1\]\.dev: device 7 out of range for this topology \(0\.\.3\) \(step 1\)$/],
      ['cut.json', serializeTrace(sampleTrace()).slice(0, 200), /cut\.json: truncated JSON/],
      ['v2.json', JSON.stringify({ ...sampleTrace(), formatVersion: 2 }), /v2\.json: formatVersion: unsupported version 2/],
    ];
    for (const [name, text, pattern] of cases) {
      const r = await runMain(['show', file(name, text)]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.errLines).toHaveLength(1);
      expect(r.errLines[0]).toMatch(/^sva-harness show: /);
      expect(r.errLines[0]).toMatch(pattern);
    }
    const missing = await runMain(['show', join(dir, 'missing.json')]);
    expect(missing.code).toBe(2);
    expect(missing.errLines).toEqual([`sva-harness show: ${join(dir, 'missing.json')}: cannot read: no such file or directory`]);
  });
});
