import { type Checked, bad, good } from './checked.js';
import { jsonProblem } from './jsonScan.js';

/** Largest trace accepted: a shrunk counterexample is a few KiB; this bounds memory and time. */
export const MAX_TRACE_BYTES = 8 * 1024 * 1024;

/** An exponent of three digits or a 309-digit mantissa: the only texts that may overflow a double. */
const MAY_OVERFLOW = /\d[eE][+-]?\d{3}|\d{309}/;

/**
 * Untrusted text → a JSON value. The size is checked on the byte length before parsing, so an
 * oversized text costs nothing; a parse failure becomes one line with a line:column (from our
 * own scanner, jsonScan.ts: V8's messages carry neither on Node 20) and says "truncated" when
 * the text simply stops (the usual result of a crash during a non-atomic copy). A number that
 * overflows to Infinity is refused where it stands rather than reported later as null.
 * `what` names the document in messages: "trace", "run config".
 */
export const parseJsonText = (text: string, file: string, limit = MAX_TRACE_BYTES, what = 'trace'): Checked<unknown> => {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > limit) return bad(`${file}: too large (${bytes} bytes; the limit is ${limit} bytes)`);
  if (text.trim() === '') return bad(`${file}: empty file (not a ${what})`);
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (e) {
    return bad(`${file}: ${describe(text, e)}`);
  }
  if (MAY_OVERFLOW.test(text)) {
    const p = jsonProblem(text);
    if (p !== undefined) return bad(`${file}: malformed JSON at ${lineColumn(text, p.pos)}: ${p.what}`);
  }
  return good(value);
};

const describe = (text: string, e: unknown): string => {
  const p = jsonProblem(text);
  if (p === undefined) {
    // JSON.parse and the scanner disagree: a bug of ours; V8's first line, without the quoted text.
    const message = e instanceof Error ? e.message : String(e);
    return `malformed JSON: ${message.replace(/,\s*".*$/s, '').slice(0, 120)}`;
  }
  if (p.truncated) return `truncated JSON: the text ends at ${lineColumn(text, text.trimEnd().length)} before the document is complete`;
  return `malformed JSON at ${lineColumn(text, p.pos)}: ${p.what}`;
};

/** 1-based line and column (in UTF-16 code units, as editors that count characters show). */
export const lineColumn = (text: string, pos: number): string => {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < pos; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return `line ${line} column ${pos - start + 1}`;
};
