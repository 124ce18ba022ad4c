/**
 * docs/reading-a-counterexample.md shows three saved counterexamples and what the harness
 * derives from them. They must stay true: each replays with its recorded violation (and runs
 * clean with the fault off), and the committed Mermaid, KUnit and HTML files are exactly what
 * the generators give now (npm run docs:counterexamples rewrites them).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { harnessRunner } from '../../models/index.js';
import { fixedRun } from '../../src/cli/fixedRun.js';
import { loadTrace, traceToMermaid } from '../../src/trace/index.js';
import { traceToHtml } from '../../src/view/html.js';
import { traceToKunit } from '../../src/view/kunit.js';

const DIR = new URL('../../docs/counterexamples/', import.meta.url).pathname;
const EXAMPLES: readonly (readonly [string, string])[] = [['B07-vtd', 'I7'], ['B14-vtd', 'I6'], ['B11-smmuv3', 'I14']];

describe.each(EXAMPLES)('docs/counterexamples/%s', (name, invariant) => {
  const loaded = loadTrace(`${DIR}${name}.json`);
  if (!loaded.ok) throw new Error(loaded.error);
  const trace = loaded.value;

  test(`replays with ${invariant} on the shrunk one-IOMMU, one-device, one-mm topology, and clean with the fault off`, () => {
    const again = harnessRunner.replay(trace);
    expect(again.ok && again.value.trace.violation?.invariant).toBe(invariant);
    expect(trace.topology.iommus).toHaveLength(1);
    expect(trace.topology.devices).toHaveLength(1);
    expect(trace.topology.mms).toBe(1);
    const fixed = fixedRun(harnessRunner, trace);
    expect(fixed).toBeDefined();
    expect(fixed!.violation).toBeUndefined();
  });

  test('its .mmd, .kunit.c and .html are what the generators write', () => {
    const fixed = fixedRun(harnessRunner, trace);
    expect(readFileSync(`${DIR}${name}.mmd`, 'utf8')).toBe(traceToMermaid(trace));
    expect(readFileSync(`${DIR}${name}.kunit.c`, 'utf8')).toBe(traceToKunit(trace, `${name}.json`));
    const html = traceToHtml(trace, { name: `${name}.json`, ...(fixed === undefined ? {} : { fixed }) });
    expect(readFileSync(`${DIR}${name}.html`, 'utf8')).toBe(html);
    // Deterministic: the same trace gives the same page.
    expect(traceToHtml(trace, { name: `${name}.json`, ...(fixed === undefined ? {} : { fixed }) })).toBe(html);
  });
});
