import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { loadTrace, newTrace, readTextFile, serializeTrace, traceFileName, writeFileAtomic, writeTrace } from '../../src/trace/index.js';
import { sampleTrace } from './sampleTrace.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sva-trace-io-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('trace files', () => {
  test('A written trace reads back equal and re-serialises to identical bytes', () => {
    const path = join(dir, 'a.json');
    const w = writeTrace(path, sampleTrace());
    expect(w).toEqual({ ok: true, value: path });
    const bytes = readFileSync(path, 'utf8');
    const back = loadTrace(path);
    if (!back.ok) throw new Error(back.error);
    expect(back.value).toEqual(sampleTrace());
    expect(serializeTrace(back.value)).toBe(bytes);
    const path2 = join(dir, 'b.json');
    writeTrace(path2, back.value);
    expect(readFileSync(path2, 'utf8')).toBe(bytes);
  });

  test('Serialisation does not depend on the order in which object keys were built', () => {
    const t = sampleTrace();
    const reordered = JSON.parse(JSON.stringify(t, Object.keys(t).reverse().concat(
      ...t.commands.map((c) => Object.keys(c).reverse()),
      'ok', 'value', 'errno', 'expected', 'actual', 'events', 'lane', 'actor', 'text', 'platform', 'iommus', 'devices',
      'mms', 'pages', 'kpages', 'ptLevels', 'pasidBits', 'didBits', 'asidBits', 'rangeInv', 'iommu', 'group', 'ats', 'pri',
      'invariant', 'title', 'step', 'objects', 'message', 'dev', 'pasid',
    ))) as typeof t;
    expect(Object.keys(reordered)[0]).not.toBe('formatVersion');
    expect(serializeTrace(reordered)).toBe(serializeTrace(t));
    expect(serializeTrace(t).endsWith('}\n')).toBe(true);
  });

  test('An atomic write over an existing file leaves the whole new content and no temp file', () => {
    const path = join(dir, 'trace.json');
    writeFileSync(path, 'old content that is longer than nothing\n'.repeat(50));
    const text = serializeTrace(sampleTrace());
    expect(writeFileAtomic(path, text).ok).toBe(true);
    expect(readFileSync(path, 'utf8')).toBe(text);
    expect(readdirSync(dir)).toEqual(['trace.json']);
  });

  test('A write into a missing folder creates it; a write that cannot happen leaves nothing behind', () => {
    const nested = join(dir, 'traces', 'vtd', 'x.json');
    expect(writeFileAtomic(nested, '{}\n').ok).toBe(true);
    expect(readFileSync(nested, 'utf8')).toBe('{}\n');
    // The target is a directory: rename fails after the temp file was written, and it is removed.
    const target = join(dir, 'isdir');
    mkdirSync(target);
    writeFileSync(join(target, 'keep'), 'x');
    const r = writeFileAtomic(target, 'new\n');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/^.*isdir: cannot write: /);
    expect(readdirSync(dir).sort()).toEqual(['isdir', 'traces']);
  });

  test('Writing an invalid trace is refused with one line', () => {
    const t = { ...sampleTrace(), commands: [{ kind: 'bind', dev: 9, mm: 0 }] } as never;
    const r = writeTrace(join(dir, 'bad.json'), t);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toContain('commands[0].dev: device 9 out of range');
    expect(readdirSync(dir)).toEqual([]);
  });

  test('Read errors are one line naming the file', () => {
    const missing = readTextFile(join(dir, 'nope.json'));
    expect(missing).toEqual({ ok: false, error: `${join(dir, 'nope.json')}: cannot read: no such file or directory` });
    const isDir = readTextFile(dir);
    expect(isDir.ok).toBe(false);
    if (!isDir.ok) expect(isDir.error).toMatch(/is a directory/);
    const big = join(dir, 'big.json');
    writeFileSync(big, ' '.repeat(2000));
    const tooBig = loadTrace(big, 1000);
    expect(tooBig).toEqual({ ok: false, error: `${big}: too large (2000 bytes; the limit is 1000 bytes)` });
  });

  test('newTrace stamps the format version and package.json\'s version', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    const t = newTrace({ topology: sampleTrace().topology, seed: 1, commands: [], steps: [] });
    expect(t.formatVersion).toBe(1);
    expect(t.harnessVersion).toBe(pkg.version);
  });

  test('The trace file name is stable and names platform, seed and invariant', () => {
    const name = traceFileName(sampleTrace());
    expect(name).toMatch(/^vtd-seed42-SVA001-[0-9a-f]{8}\.json$/);
    expect(traceFileName(sampleTrace())).toBe(name);
    expect(traceFileName({ ...sampleTrace(), seed: 43 })).not.toBe(name.replace('seed42', 'seed43'));
  });
});
