import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { checkReportPath, prepareTracesDir, releaseTracesDir } from '../../src/cli/outputPaths.js';

const dir = mkdtempSync(join(tmpdir(), 'sva-paths-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('Output paths checked before the search', () => {
  test('The traces folder is created, probed, and removed at the end if nothing went into it', () => {
    const traces = join(dir, 'a', 'b');
    const r = prepareTracesDir(traces);
    if (!r.ok) throw new Error(r.error);
    expect(r.value.created).toEqual([join(dir, 'a'), traces]);
    expect(existsSync(traces)).toBe(true);
    releaseTracesDir(r.value);
    expect(existsSync(join(dir, 'a'))).toBe(false);
  });

  test('A folder that received a trace stays; one that existed before is never removed', () => {
    const traces = join(dir, 'kept');
    const r = prepareTracesDir(traces);
    if (!r.ok) throw new Error(r.error);
    writeFileSync(join(traces, 't.json'), '{}');
    releaseTracesDir(r.value);
    expect(existsSync(join(traces, 't.json'))).toBe(true);
    const again = prepareTracesDir(traces);
    expect(again.ok && again.value.created).toEqual([]);
  });

  test('Temp files of dead writers are removed; a live writer\'s is left alone; both reported', () => {
    const traces = join(dir, 'stale');
    mkdirSync(traces);
    const dead = join(traces, '.vtd-seed1-I6-0badc0de.json.0123456789ab.999999999.0.tmp');
    const live = join(traces, `.vtd-seed1-I6-0badc0de.json.0123456789ab.${process.ppid}.3.tmp`);
    writeFileSync(dead, '{');
    writeFileSync(live, '{');
    const r = prepareTracesDir(traces);
    if (!r.ok) throw new Error(r.error);
    expect([...r.value.notes].sort()).toEqual([
      `${dead}: removed the temp file of an interrupted write (pid 999999999); its trace was never complete`,
      `${live}: a temp file of a write in progress (pid ${process.ppid} is running); left alone`,
    ].sort());
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(live)).toBe(true);
  });

  test('Refusals are one line naming the option', () => {
    const file = join(dir, 'plain');
    writeFileSync(file, '');
    expect(prepareTracesDir(file)).toEqual({ ok: false, error: `--traces ${file}: is a file, not a folder` });
    expect(prepareTracesDir(join(file, 'sub'))).toMatchObject({ ok: false, error: expect.stringMatching(/^--traces .*: cannot create the folder: /) });
    expect(prepareTracesDir('/proc/nope')).toEqual({ ok: false, error: '--traces /proc/nope: cannot create the folder: no such file or directory' });
    expect(checkReportPath('junit', dir)).toEqual({ ok: false, error: `--junit ${dir}: is a folder, not a file` });
    expect(checkReportPath('junit', join(file, 'r.xml'))).toMatchObject({ ok: false });
    expect(checkReportPath('junit', join(dir, 'r.xml'))).toEqual({ ok: true, value: join(dir, 'r.xml') });
  });
});
