import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { loadTrace, makeDirectories, newTrace, readTextFile, serializeTrace, traceFileName, writeFileAtomic, writeTrace } from '../../src/trace/index.js';
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
    expect(tooBig).toEqual({ ok: false, error: `${big}: too large (over the limit of 1000 bytes)` });
  });

  test('Only regular files are read: a FIFO with no writer and /dev/zero are refused at once', () => {
    const fifo = join(dir, 'pipe.json');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    // The open is non-blocking: a plain open of a FIFO with no writer never returns.
    expect(readTextFile(fifo)).toEqual({ ok: false, error: `${fifo}: is a named pipe (FIFO), not a trace file` });
    expect(loadTrace('/dev/zero')).toEqual({ ok: false, error: '/dev/zero: is a character device, not a trace file' });
    expect(readTextFile('/dev/null', 100, 'run config')).toEqual({ ok: false, error: '/dev/null: is a character device, not a run config file' });
  });

  test('The size limit counts bytes read, not what fstat says', () => {
    // /proc files report size 0 and still hold text: the limit must hold on what is read.
    const r = readTextFile('/proc/self/maps', 10);
    expect(r).toEqual({ ok: false, error: '/proc/self/maps: too large (over the limit of 10 bytes)' });
    expect(readTextFile('/proc/self/maps', 1 << 20).ok).toBe(true);
  });

  test('A byte-order mark is skipped; binary and non-UTF-8 files are refused in one line', () => {
    const bom = join(dir, 'bom.json');
    writeFileSync(bom, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(serializeTrace(sampleTrace()))]));
    expect(loadTrace(bom)).toEqual({ ok: true, value: sampleTrace() });
    const bin = join(dir, 'bin.json');
    writeFileSync(bin, Buffer.from([0x7b, 0x22, 0x00, 0xff, 0x10]));
    expect(readTextFile(bin)).toEqual({ ok: false, error: `${bin}: binary data (a NUL byte at offset 2), not a JSON trace` });
    const latin = join(dir, 'latin1.json');
    writeFileSync(latin, Buffer.from([0x7b, 0x22, 0xe9, 0x22, 0x7d]));
    expect(readTextFile(latin)).toEqual({ ok: false, error: `${latin}: not UTF-8 text (binary data?), not a JSON trace` });
  });

  test('makeDirectories creates each missing level and fails at once under /proc (recursive mkdir loops there)', () => {
    const deep = join(dir, 'a', 'b', 'c');
    makeDirectories(deep);
    expect(existsSync(deep)).toBe(true);
    expect(() => makeDirectories('/proc/nope/deeper')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    writeFileSync(join(dir, 'file'), '');
    expect(() => makeDirectories(join(dir, 'file', 'sub'))).toThrow(expect.objectContaining({ code: 'ENOTDIR' }));
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
