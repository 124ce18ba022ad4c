import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

const bin = fileURLToPath(new URL('../../bin/sva-harness.mjs', import.meta.url));
const sh = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000 });

// The only tests that spawn: they check the real entry (tsx registration, exit codes, streams).
describe('bin/sva-harness.mjs', () => {
  test('selfcheck runs from source with no build step and exits 0', () => {
    const r = sh(['selfcheck']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('selfcheck: pass (60 checks)');
  });

  test('A truncated trace gives exactly one stderr line, no stack, exit 2', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sva-bin-'));
    try {
      const p = join(dir, 'cut.json');
      writeFileSync(p, '{ "formatVersion": 1, "commands": [');
      const r = sh(['show', p]);
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(`sva-harness show: ${p}: truncated JSON: the text ends at line 1 column 36 before the document is complete\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
