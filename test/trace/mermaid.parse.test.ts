/**
 * The Mermaid we print must parse with Mermaid itself: its bundle (node_modules/mermaid) is
 * loaded into headless chromium and `mermaid.parse` runs on every sequence diagram of the
 * example counterexamples and every machine diagram; one diagram is also rendered to SVG.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { MACHINES, toMermaid } from '../../src/spec/index.js';
import { loadTrace, traceToMermaid } from '../../src/trace/index.js';
import { NO_BROWSER, browserPath, launchBrowser } from '../browser.js';
import { groupTrace } from '../view/groupTrace.js';
import { sampleTrace } from './sampleTrace.js';

const path = browserPath();
if (path === undefined) console.warn(`[mermaid] ${NO_BROWSER}`);

const EXAMPLES = ['B07-vtd', 'B14-vtd', 'B11-smmuv3'];
const example = (name: string): string => {
  const t = loadTrace(new URL(`../../docs/counterexamples/${name}.json`, import.meta.url).pathname);
  if (!t.ok) throw new Error(t.error);
  return traceToMermaid(t.value);
};

describe.skipIf(path === undefined)('Mermaid output parses with Mermaid', () => {
  let browser: Browser;
  let page: Page;
  beforeAll(async () => {
    browser = await launchBrowser(path!);
    page = await browser.newPage();
    const bundle = createRequire(import.meta.url).resolve('mermaid/dist/mermaid.min.js');
    await page.setContent('<!DOCTYPE html><html><body><div id="out"></div></body></html>');
    await page.addScriptTag({ content: readFileSync(bundle, 'utf8') });
    await page.evaluate(() => (globalThis as unknown as { mermaid: { initialize(o: object): void } }).mermaid.initialize({ startOnLoad: false }));
  });
  afterAll(async () => browser?.close());

  /** null when Mermaid accepts the text, else its error message. */
  const parse = (text: string): Promise<string | null> =>
    page.evaluate(async (t) => {
      try {
        await (globalThis as unknown as { mermaid: { parse(t: string): Promise<unknown> } }).mermaid.parse(t);
        return null;
      } catch (e) {
        return String((e as Error).message ?? e);
      }
    }, text);

  test('A broken diagram is refused (the check can fail)', async () => {
    expect(await parse('sequenceDiagram\n  cpu->>: oops\n  end end')).not.toBeNull();
    // The old `machines` output: two diagrams in one document.
    expect(await parse('stateDiagram-v2\n  a --> b\n\nstateDiagram-v2\n  c --> d\n')).not.toBeNull();
  });

  test('The sequence diagrams of the three example counterexamples and of the sample trace parse', async () => {
    for (const name of EXAMPLES) expect([name, await parse(example(name))]).toEqual([name, null]);
    expect(await parse(traceToMermaid(sampleTrace()))).toBeNull();
  });

  test('A trace with a concurrent group (one participant per task, switch arrows) parses', async () => {
    expect(await parse(traceToMermaid(groupTrace()))).toBeNull();
  });

  test('Every spec machine parses as its own document', async () => {
    for (const m of MACHINES) expect([m.id, await parse(toMermaid(m))]).toEqual([m.id, null]);
  });

  test('A counterexample renders to SVG with its lanes and the violation note', async () => {
    const svg = await page.evaluate(async (t) => {
      const m = (globalThis as unknown as { mermaid: { render(id: string, t: string): Promise<{ svg: string }> } }).mermaid;
      return (await m.render('b14', t)).svg;
    }, example('B14-vtd'));
    expect(svg).toContain('IOMMU driver');
    expect(svg).toContain('invalidation queue');
    expect(svg).toMatch(/VIOLATION I6/);
  });
});
