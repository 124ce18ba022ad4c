import { type Checked, bad, good } from './checked.js';

/** Largest trace accepted: a shrunk counterexample is a few KiB; this bounds memory and time. */
export const MAX_TRACE_BYTES = 8 * 1024 * 1024;

/**
 * Untrusted text → a JSON value. The size is checked on the byte length before parsing, so an
 * oversized file costs nothing; a parse failure becomes one line with a line:column and says
 * "truncated" when the text simply stops (the usual result of a crash during a non-atomic copy).
 */
export const parseJsonText = (text: string, file: string, limit = MAX_TRACE_BYTES): Checked<unknown> => {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > limit) return bad(`${file}: too large (${bytes} bytes; the limit is ${limit} bytes)`);
  if (text.trim() === '') return bad(`${file}: empty file (not a trace)`);
  try {
    return good(JSON.parse(text) as unknown);
  } catch (e) {
    return bad(`${file}: ${describeJsonError(text, e instanceof Error ? e.message : String(e))}`);
  }
};

const describeJsonError = (text: string, message: string): string => {
  const end = text.trimEnd().length;
  const pos = jsonErrorPosition(text, message);
  if (/end of JSON input|Unterminated string/.test(message) || (pos !== undefined && pos >= end)) {
    return `truncated JSON: the text ends at ${lineColumn(text, end)} before the document is complete`;
  }
  // V8 may quote the input in the message; keep only the explanation, never the file's text.
  const what = message.replace(/,\s*".*$/s, '').replace(/\s*in JSON at position \d+.*$/s, '').replace(/\s*\(line \d+ column \d+\)$/, '');
  const where = pos === undefined ? '' : ` at ${lineColumn(text, pos)}`;
  return `malformed JSON${where}: ${what.slice(0, 120)}`;
};

/** The character offset V8 reports: "at position N" (Node 20) or "(line L column C)" (Node 22). */
const jsonErrorPosition = (text: string, message: string): number | undefined => {
  const p = /at position (\d+)/.exec(message);
  if (p) return Number(p[1]);
  const lc = /\(line (\d+) column (\d+)\)/.exec(message);
  if (!lc) return undefined;
  let line = 1;
  let i = 0;
  while (line < Number(lc[1]) && i < text.length) if (text[i++] === '\n') line++;
  return i + Number(lc[2]) - 1;
};

const lineColumn = (text: string, pos: number): string => {
  let line = 1;
  let col = 1;
  for (let i = 0; i < pos && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      col = 1;
    } else col++;
  }
  return `line ${line} column ${col}`;
};
