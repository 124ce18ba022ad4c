import { describe, expect, test } from 'vitest';
import { runSelfcheck } from '../../src/cli/selfcheck.js';
import { runMain } from './captureIo.js';

describe('selfcheck', () => {
  test('The hardware scenario passes at 4 and 5 levels and is deterministic', () => {
    const r = runSelfcheck();
    expect(r.failed).toBe(0);
    expect(r.lines.filter((l) => l.startsWith('  ok    '))).toHaveLength(60);
    expect(r.lines).toContain('4-level page tables:');
    expect(r.lines).toContain('5-level page tables:');
    expect(r.lines).toContain('  ok    amd0: the flush takes effect at COMPLETION_WAIT: the GCR3 cache is empty');
    expect(r.lines.at(-1)).toBe('selfcheck: pass (60 checks)');
    expect(runSelfcheck().lines).toEqual(r.lines);
  });

  test('The selfcheck command prints the scenario and exits 0', async () => {
    const r = await runMain(['selfcheck']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('  ok    the next allocation reuses the freed PTE table frame (LIFO)');
    expect(r.stdout.endsWith('selfcheck: pass (60 checks)\n')).toBe(true);
  });
});
