/**
 * Regenerates what docs/reading-a-counterexample.md shows for the three example traces in
 * docs/counterexamples/: each one's HTML page, Mermaid source and KUnit skeleton, and the
 * viewer screenshots (headless chromium through puppeteer-core; CHROMIUM_PATH or
 * /usr/bin/chromium). Run: npm run docs:counterexamples
 */
import { existsSync, writeFileSync } from 'node:fs';
import { harnessRunner } from '../models/index.js';
import { fixedRun } from '../src/cli/fixedRun.js';
import { loadTrace, traceToMermaid, writeFileAtomic } from '../src/trace/index.js';
import { traceToHtml } from '../src/view/html.js';
import { traceToKunit } from '../src/view/kunit.js';

const DIR = new URL('../docs/counterexamples/', import.meta.url).pathname;
const NAMES = ['B07-vtd', 'B14-vtd', 'B11-smmuv3'];

for (const name of NAMES) {
  const t = loadTrace(`${DIR}${name}.json`);
  if (!t.ok) throw new Error(t.error);
  const fixed = fixedRun(harnessRunner, t.value);
  const out = [
    writeFileAtomic(`${DIR}${name}.html`, traceToHtml(t.value, { name: `${name}.json`, ...(fixed === undefined ? {} : { fixed }) })),
    writeFileAtomic(`${DIR}${name}.mmd`, traceToMermaid(t.value)),
    writeFileAtomic(`${DIR}${name}.kunit.c`, traceToKunit(t.value, `${name}.json`)),
  ];
  for (const o of out) if (!o.ok) throw new Error(o.error);
  console.log(`${name}: html, mmd, kunit.c written`);
}

const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
if (!existsSync(chromium)) {
  console.log(`no browser at ${chromium}: screenshots not taken`);
} else {
  const { default: puppeteer } = await import('puppeteer-core');
  const browser = await puppeteer.launch({ executablePath: chromium, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 1000 });
  await page.goto(`file://${DIR}B14-vtd.html`);
  writeFileSync(`${DIR}../viewer-b14.png`, await page.screenshot({ type: 'png', clip: { x: 0, y: 0, width: 1280, height: 1130 } }));
  const box = await (await page.$('#inspector'))!.boundingBox();
  const diff = await (await page.$('#diff'))!.boundingBox();
  if (box !== null && diff !== null) {
    writeFileSync(`${DIR}../viewer-b14-inspector.png`, await page.screenshot({
      type: 'png', clip: { x: 0, y: box.y, width: 1280, height: Math.min(900, diff.y + diff.height - box.y) },
    }));
  }
  await browser.close();
  console.log('docs/viewer-b14.png, docs/viewer-b14-inspector.png written');
}
