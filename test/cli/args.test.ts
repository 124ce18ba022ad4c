import { describe, expect, test } from 'vitest';
import { parseArgs, wantsHelp, type OptionDef } from '../../src/cli/args.js';

const defs: OptionDef[] = [{ name: 'seed', value: 'SEED', help: '' }, { name: 'quiet', help: '' }];

describe('argument parser', () => {
  test('Values come as --name value or --name=value; a value may be negative; -- ends options', () => {
    const r = parseArgs(['--seed', '-4', 'a.json'], defs, ['<trace>']);
    expect(r.ok && [...r.value.options]).toEqual([['seed', '-4']]);
    expect(r.ok && r.value.positionals).toEqual(['a.json']);
    const s = parseArgs(['--quiet', '--seed=7', '--', '--odd-name.json'], defs, ['<trace>']);
    expect(s.ok && [...s.value.options]).toEqual([['quiet', true], ['seed', '7']]);
    expect(s.ok && s.value.positionals).toEqual(['--odd-name.json']);
  });

  test('Every malformed command line is refused with one message', () => {
    const errors = [
      [['--nope'], "unknown option '--nope'"],
      [['--seed'], 'option --seed needs a value (SEED)'],
      [['--seed='], 'option --seed needs a value (SEED)'],
      [['--quiet=1'], 'option --quiet takes no value'],
      [['--quiet', '--quiet'], 'option --quiet given twice'],
      [[], 'missing <trace> argument'],
      [['a', 'b'], "unexpected argument 'b'"],
    ] as const;
    for (const [argv, message] of errors) expect(parseArgs(argv, defs, ['<trace>'])).toEqual({ ok: false, error: message });
  });

  test('--help or -h is seen anywhere before --', () => {
    expect(wantsHelp(['x', '-h'])).toBe(true);
    expect(wantsHelp(['--bad', '--help'])).toBe(true);
    expect(wantsHelp(['--', '--help'])).toBe(false);
  });
});
