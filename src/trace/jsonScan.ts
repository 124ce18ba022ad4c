/**
 * A strict RFC 8259 syntax check that says WHERE a text stops being JSON and why, in words
 * that do not quote the file. JSON.parse on Node 20 reports neither a position nor a readable
 * reason ("Unexpected token '}', "…garbled text…" is not valid JSON"), and it turns `1e999`
 * into Infinity without a word. Iterative (an explicit stack), so absurd nesting cannot
 * overflow the call stack.
 */

export interface JsonProblem {
  /** Character offset of the problem in the text. */
  readonly pos: number;
  readonly what: string;
  /** The text ended before the document was complete. */
  readonly truncated: boolean;
}

const WS = new Set([' ', '\t', '\n', '\r']);

/** A character as a message can show it: printable ASCII quoted, anything else as U+XXXX. */
const shown = (c: string): string => {
  const code = c.codePointAt(0)!;
  return code >= 0x21 && code <= 0x7e ? `'${c}'` : `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
};

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const NON_JSON_WORDS: readonly [string, string][] = [
  ['NaN', 'NaN is not JSON (numbers must be finite)'],
  ['Infinity', 'Infinity is not JSON (numbers must be finite)'],
  ['-Infinity', '-Infinity is not JSON (numbers must be finite)'],
  ['undefined', 'undefined is not JSON'],
];

/** The first problem of `text` as JSON, or undefined when it is a valid JSON text. */
export const jsonProblem = (text: string): JsonProblem | undefined => {
  let i = 0;
  const n = text.length;
  const end = (what: string): JsonProblem => ({ pos: n, what, truncated: true });
  const at = (pos: number, what: string): JsonProblem => ({ pos, what, truncated: false });
  const skip = (): void => {
    while (i < n && WS.has(text[i]!)) i++;
  };
  /** Containers open at this point: '{' or '['. */
  const stack: string[] = [];

  const value = (): JsonProblem | undefined => {
    skip();
    if (i >= n) return end('expected a value');
    const c = text[i]!;
    if (c === '{' || c === '[') {
      stack.push(c);
      i++;
      return undefined;
    }
    if (c === '"') return string();
    if (c === '-' || (c >= '0' && c <= '9')) {
      for (const [word, why] of NON_JSON_WORDS) if (text.startsWith(word, i)) return at(i, why);
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(text);
      if (m === null) return i + 1 >= n ? end('a number is cut short') : at(i + 1, `expected a digit after '-', got ${shown(text[i + 1]!)}`);
      const after = i + m[0].length;
      if (after < n && /[.eE0-9]/.test(text[after]!)) {
        return at(after, `malformed number (${shown(text[after]!)} cannot follow ${m[0].length > 20 ? 'it' : m[0]})`);
      }
      if (after >= n && stack.length > 0) return end('a number is cut short');
      if (!Number.isFinite(Number(m[0]))) return at(i, `number ${m[0].length > 20 ? `${m[0].slice(0, 17)}...` : m[0]} is out of range (not a finite double)`);
      i = after;
      return undefined;
    }
    for (const word of ['true', 'false', 'null']) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return undefined;
      }
      if (word.startsWith(text.slice(i, n)) && n - i < word.length) return end(`'${word}' is cut short`);
    }
    for (const [word, why] of NON_JSON_WORDS) if (text.startsWith(word, i)) return at(i, why);
    if (c === "'") return at(i, "strings take double quotes, not '");
    return at(i, `expected a value, got ${shown(c)}`);
  };

  const string = (): JsonProblem | undefined => {
    i++;
    while (i < n) {
      const c = text[i]!;
      if (c === '"') {
        i++;
        return undefined;
      }
      if (c === '\\') {
        const e = text[i + 1];
        if (e === undefined) return end('unterminated string');
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
            return i + 6 > n ? end('unterminated string') : at(i, 'bad \\u escape (four hex digits expected)');
          }
          i += 6;
          continue;
        }
        if (!'"\\/bfnrt'.includes(e)) return at(i, `bad escape '\\${e.length === 1 && e >= ' ' ? e : '?'}' in a string`);
        i += 2;
        continue;
      }
      if (c < ' ') return at(i, `raw control character ${shown(c)} in a string (escape it)`);
      i++;
    }
    return end('unterminated string');
  };

  let p = value();
  if (p !== undefined) return p;
  // After a value or an opening bracket: what may come next depends on the innermost container.
  let justOpened = stack.length > 0;
  while (stack.length > 0) {
    skip();
    const top = stack[stack.length - 1]!;
    const close = top === '{' ? '}' : ']';
    if (i >= n) return end(`expected ${justOpened ? `a ${top === '{' ? 'key' : 'value'} or ` : "',' or "}'${close}'`);
    const c = text[i]!;
    if (c === close) {
      stack.pop();
      i++;
      justOpened = false;
      continue;
    }
    if (!justOpened) {
      if (c !== ',') return at(i, `expected ',' or '${close}', got ${shown(c)}`);
      i++;
      skip();
      if (i < n && text[i] === close) return at(i, `trailing comma before '${close}'`);
    }
    if (top === '{') {
      skip();
      if (i >= n) return end('expected a key');
      if (text[i] !== '"') return at(i, `expected a "quoted" key, got ${shown(text[i]!)}`);
      p = string();
      if (p !== undefined) return p;
      skip();
      if (i >= n) return end("expected ':'");
      if (text[i] !== ':') return at(i, `expected ':' after the key, got ${shown(text[i]!)}`);
      i++;
    }
    const depth = stack.length;
    p = value();
    if (p !== undefined) return p;
    justOpened = stack.length > depth;
  }
  skip();
  return i < n ? at(i, `unexpected ${shown(text[i]!)} after the end of the document`) : undefined;
};
