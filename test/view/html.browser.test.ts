/**
 * The HTML viewer in a real headless browser: the page of the B14 example counterexample is
 * loaded from a file with no network, and its content is read back from the DOM: the
 * violation block, the lanes, the sequence diagram, the state inspector (clicking a step
 * changes what it shows) and the failing step's diff.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { harnessRunner } from '../../models/index.js';
import { fixedRun } from '../../src/cli/fixedRun.js';
import { loadTrace } from '../../src/trace/index.js';
import { traceToHtml } from '../../src/view/html.js';
import { NO_BROWSER, browserPath, launchBrowser } from '../browser.js';

const path = browserPath();
if (path === undefined) console.warn(`[viewer] ${NO_BROWSER}`);

const dir = mkdtempSync(join(tmpdir(), 'sva-html-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(path === undefined)('HTML viewer in headless chromium', () => {
  let browser: Browser;
  let page: Page;
  const requests: string[] = [];
  beforeAll(async () => {
    const loaded = loadTrace(new URL('../../docs/counterexamples/B14-vtd.json', import.meta.url).pathname);
    if (!loaded.ok) throw new Error(loaded.error);
    const fixed = fixedRun(harnessRunner, loaded.value);
    const file = join(dir, 'b14.html');
    writeFileSync(file, traceToHtml(loaded.value, { name: 'B14-vtd.json', ...(fixed === undefined ? {} : { fixed }) }));
    browser = await launchBrowser(path!);
    page = await browser.newPage();
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(`file://${file}`);
  });
  afterAll(async () => browser?.close());

  const text = (sel: string): Promise<string> => page.$eval(sel, (e) => (e as unknown as { innerText: string }).innerText);

  test('The page loads nothing but itself', () => {
    expect(requests.filter((u) => !u.startsWith('file://') && !u.startsWith('data:'))).toEqual([]);
  });

  test('The violation block names the rule, its source, the fix and the missing flush', async () => {
    expect(await page.title()).toBe('sva-harness counterexample: I6 No stale translation');
    const v = await text('#violation');
    expect(v).toMatch(/VIOLATION I6: No stale translation/);
    expect(v).toMatch(/rule {6}When the secondary-TLB invalidation/);
    expect(v).toMatch(/source {4}drivers\/iommu\/intel\/svm\.c/);
    expect(v).toMatch(/fixed by {2}e37d5a2d60a3, CVE-2025-71202/);
    expect(v).toMatch(/\(nothing\) +\| vtd0: piotlb did=1 pasid=1/);
  });

  test('The timeline has one column per lane and shades the failing step', async () => {
    const heads = await page.$$eval('table.lanes th', (ths) => ths.map((t) => (t as unknown as { innerText: string }).innerText));
    expect(heads).toEqual(['step', 'CPU / mm', 'SVA core', 'IOMMU driver', 'invalidation queue', 'IOMMU caches', 'device']);
    const failing = await page.$$eval('table.lanes tr.failing', (rows) => rows.map((r) => (r as unknown as { innerText: string }).innerText));
    expect(failing).toHaveLength(1);
    expect(failing[0]).toMatch(/#4 vfree\(k0\)/);
    expect(await text('table.lanes')).toMatch(/PSC fill DID 1 PASID 1 level 1 prefix 0x7fffe480000 → table 4/);
    expect(await text('table.lanes')).toMatch(/intel_svm_set_dev_pasid\(domain0, dev0, 1, NULL\)/);
  });

  test('The sequence diagram draws the six lanes, arrows between them and the violation', async () => {
    expect(await page.$$eval('svg.sequence .head-text', (t) => t.length)).toBe(6);
    expect(await page.$$eval('svg.sequence line.call', (t) => t.length)).toBeGreaterThan(2);
    expect(await text('#sequence')).toMatch(/VIOLATION I6/);
  });

  test('The state inspector opens on the failing step and follows a click', async () => {
    const initial = await text('#state');
    expect(initial).toMatch(/after step #4 vfree\(k0\)/);
    // The bug: after vfree the PSC still points at the freed table.
    expect(initial).toMatch(/paging-structure cache\s+DID 1 PASID 1 level 1 prefix 0x7fffe480000 → table 4/);
    await page.click('#steps button[data-i="1"]');
    const boot = await text('#state');
    expect(boot).toMatch(/after step #0 spawn\(mm0\)/);
    expect(boot).toMatch(/paging-structure cache\s+\(empty\)/);
    expect(boot).not.toEqual(initial);
  });

  test('The diff shows the failing step against the one before', async () => {
    const d = await text('#diff');
    expect(d).toMatch(/Step #3 → step #4 vfree\(k0\)/);
    expect(d).toMatch(/kpages\[0\]/);
    // The freed PTE table the paging-structure cache still points at.
    expect(d).toMatch(/− frame 4: table \(kernel\)\s+\+ frame 4: free/);
  });
});
