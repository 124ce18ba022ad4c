import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { parseArgs } from '../../src/cli/args.js';
import { loadRunConfig, withRunConfig } from '../../src/cli/runConfig.js';
import { DEFAULT_GROUPS, RUN_OPTIONS, toRunOptions } from '../../src/cli/runOptions.js';

const dir = mkdtempSync(join(tmpdir(), 'sva-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const file = (text: string): string => {
  const path = join(dir, `c${n++}.json`);
  writeFileSync(path, text);
  return path;
};

describe('run --config files', () => {
  test('A valid file gives the same RunOptions as the same options on the command line', () => {
    const path = file(JSON.stringify({ platform: 'both', topology: 'default', mms: 2, 'pt-levels': 5, seed: -3, runs: 40, traces: 'out', fault: 'B07' }));
    const config = loadRunConfig(path);
    expect(config.ok).toBe(true);
    if (!config.ok) return;
    const fromFile = toRunOptions(withRunConfig({ options: new Map(), positionals: [] }, config.value));
    const argv = ['--platform', 'both', '--topology', 'default', '--mms', '2', '--pt-levels', '5', '--seed', '-3', '--runs', '40', '--traces', 'out', '--fault', 'B07'];
    const cli = parseArgs(argv, RUN_OPTIONS, []);
    expect(cli.ok && toRunOptions(cli.value)).toEqual(fromFile);
    expect(fromFile).toEqual({ ok: true, value: {
      platforms: ['vtd'], topology: { mode: 'default', mms: 2, ptLevels: 5 }, budget: { kind: 'runs', runs: 40 }, tracesDir: 'out', seed: -3, fault: 'B07',
      concurrency: { groupRate: DEFAULT_GROUPS, scheduler: 'mix' },
    } });
  });

  test('The command line overrides the file, and either budget option replaces the file\'s budget', () => {
    const config = loadRunConfig(file('{"platform": "vtd", "seed": 1, "runs": 40}'));
    if (!config.ok) throw new Error(config.error);
    const cli = parseArgs(['--seed', '9', '--time', '2m', '--config', 'x.json'], RUN_OPTIONS, []);
    if (!cli.ok) throw new Error(cli.error);
    const merged = toRunOptions(withRunConfig(cli.value, config.value));
    expect(merged.ok && merged.value).toMatchObject({ platforms: ['vtd'], seed: 9, budget: { kind: 'time', seconds: 120 } });
  });

  test('time takes seconds or a duration string', () => {
    const a = loadRunConfig(file('{"time": 90}'));
    const b = loadRunConfig(file('{"time": "2m"}'));
    expect(a.ok && toRunOptions(withRunConfig({ options: new Map(), positionals: [] }, a.value))).toMatchObject({ ok: true, value: { budget: { kind: 'time', seconds: 90 } } });
    expect(b.ok && toRunOptions(withRunConfig({ options: new Map(), positionals: [] }, b.value))).toMatchObject({ ok: true, value: { budget: { kind: 'time', seconds: 120 } } });
  });

  test.each([
    ['{"fault": "B99"}', 'fault: expected a fault id B01-B19, B30-B31, B40-B41, B50-B53, B60-B61, R01-R05'],
    ['{"platform": "arm"}', 'platform: expected "vtd", "smmuv3", "amd" or "all"'],
    ['{"runs": 0}', 'runs: expected a positive integer'],
    ['{"runs": "10"}', 'runs: expected a positive integer'],
    ['{"mms": 99}', 'mms: expected an integer from 1 to 8'],
    ['{"pt-levels": 3}', 'pt-levels: expected 4 or 5'],
    ['{"time": "soon"}', 'time: expected seconds (90) or a duration ("90s", "2m", "1h")'],
    ['{"time": 0}', 'time: expected seconds (90) or a duration ("90s", "2m", "1h")'],
    ['{"runs": 5, "time": 5}', '(top level): give runs or time, not both'],
    ['{"seeds": 5, "budget": 1}', "unknown keys 'seeds', 'budget'"],
    ['[1, 2]', 'a run config is a JSON object of run options'],
    ['{"runs": 5', 'truncated JSON'],
    ['{"slice": "2-4"}', 'slice: expected "I/N", e.g. "2/4"'],
    ['{"step-timeout": 0}', 'step-timeout: expected seconds (90) or a duration ("90s", "2m", "1h")'],
    ['{"seed": 4294967297}', 'seed: expected an integer from -2147483648 to 2147483647'],
    ['{"seed": 1e999}', 'malformed JSON at line 1 column 10: number 1e999 is out of range'],
    ['{"runs": NaN}', 'malformed JSON at line 1 column 10: NaN is not JSON'],
    ['{"runs": 5,}', "malformed JSON at line 1 column 12: trailing comma before '}'"],
    ['', 'empty file (not a run config)'],
  ])('%s is one line naming the file and the problem', (text, message) => {
    const path = file(text);
    const r = loadRunConfig(path);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.startsWith(`${path}: ${message}`)).toBe(true);
    expect(r.error).not.toContain('\n');
  });

  test('A config that is not a regular file is worded as a config, not as a trace', () => {
    expect(loadRunConfig(dir)).toEqual({ ok: false, error: `${dir}: is a directory, not a run config file` });
    expect(loadRunConfig('/dev/zero')).toEqual({ ok: false, error: '/dev/zero: is a character device, not a run config file' });
  });

  test('A missing file is one line', () => {
    expect(loadRunConfig(join(dir, 'none.json'))).toEqual({ ok: false, error: `${join(dir, 'none.json')}: cannot read: no such file or directory` });
  });
});
