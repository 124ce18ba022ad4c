import { describe, expect, test } from 'vitest';
import { COMMANDS } from '../../src/cli/main.js';
import { runMain } from './captureIo.js';

/** The contract for bad input: exit 2, exactly one line on stderr, nothing on stdout. */
const expectUsageError = async (argv: string[], pattern: RegExp): Promise<void> => {
  const r = await runMain(argv);
  expect(r.code).toBe(2);
  expect(r.errLines).toHaveLength(1);
  expect(r.errLines[0]).toMatch(pattern);
  expect(r.stdout).toBe('');
};

describe('sva-harness command line', () => {
  test('An unknown option, a missing value or an extra argument is one line and exit 2', async () => {
    await expectUsageError(['run', '--frobnicate'], /^sva-harness run: unknown option '--frobnicate' \(see 'sva-harness run --help'\)$/);
    await expectUsageError(['run', '-x'], /^sva-harness run: unknown option '-x'/);
    await expectUsageError(['run', '--seed'], /^sva-harness run: option --seed needs a value \(SEED\)/);
    await expectUsageError(['run', '--seed', '--runs', '3'], /option --seed needs a value/);
    await expectUsageError(['run', '--runs', '3', '--runs', '4'], /option --runs given twice/);
    await expectUsageError(['replay', '--quiet=yes', 't.json'], /option --quiet takes no value/);
    await expectUsageError(['show'], /^sva-harness show: missing <trace> argument/);
    await expectUsageError(['show', 'a.json', 'b.json'], /^sva-harness show: unexpected argument 'b.json'/);
    await expectUsageError(['frob'], /^sva-harness: unknown command 'frob' \(commands: run, explore, explore-schedules, replay, show, machines, selfcheck[a-z, ]*\)$/);
  });

  test('Bad values: unknown platform, negative or non-integer budget, non-numeric seed', async () => {
    await expectUsageError(['run', '--platform', 'amd-vi'], /^sva-harness run: bad --platform 'amd-vi': expected vtd, smmuv3, amd or all$/);
    await expectUsageError(['run', '--runs', '-5'], /^sva-harness run: bad --runs '-5': expected a positive integer$/);
    await expectUsageError(['run', '--runs=2.5'], /bad --runs '2.5'/);
    await expectUsageError(['run', '--runs', '0'], /bad --runs '0'/);
    await expectUsageError(['run', '--time', '-10s'], /^sva-harness run: bad --time '-10s': expected a positive whole number of seconds/);
    await expectUsageError(['run', '--time', '1.5m'], /bad --time '1.5m'/);
    await expectUsageError(['run', '--seed', 'forty-two'], /^sva-harness run: bad --seed 'forty-two': expected an integer/);
    await expectUsageError(['run', '--seed', '1e3'], /bad --seed '1e3'/);
    // fast-check seeds are 32-bit: 4294967297 would run seed 1, 0x80000000 seed -2^31.
    await expectUsageError(['run', '--seed', '4294967297'], /^sva-harness run: bad --seed '4294967297': expected an integer from -2147483648 to 2147483647/);
    await expectUsageError(['run', '--seed', '0x80000000'], /bad --seed '0x80000000'/);
    await expectUsageError(['run', '--seed', '-2147483649'], /bad --seed '-2147483649'/);
    await expectUsageError(['run', '--pages', '17'], /bad --pages '17': expected an integer from 1 to 16/);
    await expectUsageError(['run', '--pt-levels', '3'], /bad --pt-levels '3': expected 4 or 5/);
    await expectUsageError(['run', '--runs', '5', '--time', '5s'], /give --runs or --time, not both/);
    await expectUsageError(['show', 'x.json', '--format', 'svg'], /bad --format 'svg': expected text or mermaid/);
  });

  test('--help on each subcommand prints its usage and exits 0, even next to bad options', async () => {
    for (const c of COMMANDS) {
      const r = await runMain([c.name, '--bogus', '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout.startsWith(`usage: sva-harness ${c.name}`)).toBe(true);
      expect(r.stdout).toContain('--help');
      expect(r.stderr).toBe('');
    }
    const top = await runMain(['--help']);
    expect(top.code).toBe(0);
    for (const c of COMMANDS) expect(top.stdout).toContain(`  ${c.name} `);
    const none = await runMain([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('usage: sva-harness <command>');
  });

  test('An exception inside a command becomes one internal-error line and exit 70', async () => {
    const r = await runMain(['machines'], {
      machines: () => {
        throw new TypeError('boom\n    at somewhere (file.ts:1:1)');
      },
    });
    expect(r.code).toBe(70);
    expect(r.errLines).toEqual(['sva-harness: internal error: TypeError: boom']);
  });
});
