import { describe, expect, test } from 'vitest';
import { jsonProblem } from '../../src/trace/jsonScan.js';
import { parseJsonText } from '../../src/trace/jsonText.js';

const F = 'f.json';
const error = (text: string): string => {
  const r = parseJsonText(text, F);
  if (r.ok) throw new Error(`expected an error for ${JSON.stringify(text)}`);
  expect(r.error.split('\n')).toHaveLength(1);
  return r.error.slice(F.length + 2);
};

describe('JSON syntax problems', () => {
  test.each([
    ['{"a":}', "malformed JSON at line 1 column 6: expected a value, got '}'"],
    ['{"a":1,}', "malformed JSON at line 1 column 8: trailing comma before '}'"],
    ['{"a": NaN}', 'malformed JSON at line 1 column 7: NaN is not JSON (numbers must be finite)'],
    ['{"a": -Infinity}', 'malformed JSON at line 1 column 7: -Infinity is not JSON (numbers must be finite)'],
    ['{"seed": 1e999}', 'malformed JSON at line 1 column 10: number 1e999 is out of range (not a finite double)'],
    ['{"a":\n  [1, 2\n  3]}', "malformed JSON at line 3 column 3: expected ',' or ']', got '3'"],
    ['{"a": "b\nc"}', 'malformed JSON at line 1 column 9: raw control character U+000A in a string (escape it)'],
    ["{'a': 1}", `malformed JSON at line 1 column 2: expected a "quoted" key, got '''`],
    ['{"a": 1} x', "malformed JSON at line 1 column 10: unexpected 'x' after the end of the document"],
    ['{"a": 01}', "malformed JSON at line 1 column 8: malformed number ('1' cannot follow 0)"],
    ['{"a": "\\q"}', "malformed JSON at line 1 column 8: bad escape '\\q' in a string"],
    ['\u0001{}', 'malformed JSON at line 1 column 1: expected a value, got U+0001'],
    ['[1, 2', 'truncated JSON: the text ends at line 1 column 6 before the document is complete'],
    ['{"a": tru', 'truncated JSON: the text ends at line 1 column 10 before the document is complete'],
  ])('%j: %s', (text, message) => {
    expect(error(text)).toBe(message);
  });

  test('No message quotes the text of the file (Node 20 V8 messages do)', () => {
    const secret = '{"commands": [{"kind": "bind", "dev": 0, "mm": 0}], "x": }';
    expect(error(secret)).not.toContain('bind');
  });

  test('The scanner agrees with JSON.parse on valid texts', () => {
    for (const t of ['{}', '[]', '0', '-0.5e-3', '"\\u00e9\\n"', '{"a":[1,{"b":null}],"c":true,"d":false}', ' [ [ [ ] ] ] ']) {
      expect(jsonProblem(t)).toBeUndefined();
      expect(() => JSON.parse(t) as unknown).not.toThrow();
    }
  });

  test('Deep nesting is scanned without recursion', () => {
    expect(jsonProblem(`${'['.repeat(200_000)}1${']'.repeat(200_000)}`)).toBeUndefined();
    expect(jsonProblem(`${'['.repeat(200_000)}1`)?.truncated).toBe(true);
  });
});
