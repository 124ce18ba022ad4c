/**
 * A generator function called without `yield*` does nothing at all: its body never runs. The
 * type checker catches it only when the result is used, so a converted `mutex_unlock(m);` or
 * `iopf_queue_remove_device(q, dev);` as a statement would silently drop kernel work. This
 * scans the ported code for calls, in statement position, of any function declared as a
 * generator (`function*`) or as returning `Co<...>`, and fails on each one not driven by
 * `yield*`, `sync(...)`, `spawn(...)` or returned.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOTS = ['src/impl', 'src/sched', 'src/harness'];

const files = (dir: string): string[] => {
  let out: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return out;
  }
  for (const n of names) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) out = out.concat(files(p));
    else if (n.endsWith('.ts')) out.push(p);
  }
  return out;
};

/** Comments and string/template contents blanked, so only code is scanned (line numbers kept). */
export const codeOnly = (src: string): string =>
  src
    .replace(/\/\*[\s\S]*?\*\//g, (m) => m.replace(/[^\n]/g, ' '))
    .replace(/\/\/[^\n]*/g, (m) => ' '.repeat(m.length))
    .replace(/'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|`(?:[^`\\]|\\.)*`/g, (m) => m.replace(/[^\n]/g, ' '));

/** Names this source declares as returning a generator: `function* name`, `name = (...): Co<`, `name(...): Co<`. */
export const generatorNames = (code: string): Set<string> => {
  const names = new Set<string>();
  for (const m of code.matchAll(/function\s*\*\s*(\w+)/g)) names.add(m[1]!);
  for (const m of code.matchAll(/(\w+)\s*=\s*\([^)]*\)\s*:\s*Co\b/g)) names.add(m[1]!);
  for (const m of code.matchAll(/(\w+)\s*\??\s*\([^)]*\)\s*:\s*Co\b/g)) names.add(m[1]!);
  return names;
};

/** Method names declared as returning a generator (interface members, ops tables): `name(...): Co<`. */
export const generatorMethods = (code: string): Set<string> => {
  const names = new Set<string>();
  for (const m of code.matchAll(/^\s*(?:readonly\s+)?(\w+)\s*\??\s*[:(][^;\n]*\)\s*(?:=>|:)\s*Co\b/gm)) names.add(m[1]!);
  return names;
};

/** The local names a file imports: local name -> [resolved module path, exported name]. */
const importsOf = (file: string, src: string): Map<string, [string, string]> => {
  const out = new Map<string, [string, string]>();
  for (const m of src.matchAll(/import\s+(?:type\s+)?\{([^}]*)\}\s*from\s*'(\.[^']*)'/g)) {
    const target = join(dirname(file), m[2]!.replace(/\.js$/, '.ts'));
    for (const part of m[1]!.split(',')) {
      const [orig, local] = part.replace(/\btype\s+/, '').trim().split(/\s+as\s+/);
      if (orig) out.set((local ?? orig).trim(), [target, orig.trim()]);
    }
  }
  return out;
};

/**
 * Calls whose value is thrown away (the call starts a statement) of a bare name that is a
 * generator here (`isGen`) or of a member that is a generator method.
 */
export const droppedCalls = (code: string, isGen: (name: string) => boolean, methods: ReadonlySet<string>): { line: number; name: string }[] => {
  const out: { line: number; name: string }[] = [];
  const re = /(^|[;{}]|\belse\b|\)|=>|&&|\|\||\?|:)\s*((?:[\w$]+(?:!)?\.)*)([\w$]+)\s*(?:!|\?\.)?\s*\(/gm;
  for (const m of code.matchAll(re)) {
    const name = m[3]!;
    const member = m[2]!.length > 0;
    // Member calls: only through an ops table (`x.ops.free(`), where the generator methods live;
    // `mem.free(` is another object's plain method of the same name.
    if (member ? !(methods.has(name) && /(^|\.)ops!?\.$/.test(m[2]!)) : !isGen(name)) continue;
    const lead = m[1]!;
    const at = m.index! + m[0].length;
    // An arrow or conditional returning the generator hands it on: not a drop.
    if (lead === '=>' || lead === '?' || lead === ':') continue;
    // `) name(` is a statement only after a control header (if/while/for).
    if (lead === ')' && !/\b(if|while|for)\s*\([^;{}]*$/.test(code.slice(Math.max(0, m.index! - 200), m.index! + 1))) continue;
    // A declaration `function* name(` or a method `name(...) {` is not a call.
    const tail = code.slice(at, at + 400);
    const close = matchParen(tail);
    if (close >= 0 && /^\s*(:|\{)/.test(tail.slice(close + 1))) continue;
    if (/function\s*\*?\s*$/.test(code.slice(Math.max(0, m.index! - 12), m.index! + lead.length))) continue;
    out.push({ line: code.slice(0, m.index! + m[0].lastIndexOf(m[2]! + name)).split('\n').length, name });
  }
  return out;
};

const matchParen = (s: string): number => {
  let depth = 1;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '(') depth++;
    else if (s[i] === ')' && --depth === 0) return i;
  }
  return -1;
};

describe('generator calls in the ported code', () => {
  const all = ROOTS.flatMap(files);
  const raw = new Map(all.map((f) => [f, readFileSync(f, 'utf8')]));
  const codes = new Map(all.map((f) => [f, codeOnly(raw.get(f)!)]));
  const own = new Map(all.map((f) => [f, generatorNames(codes.get(f)!)]));
  const methods = new Set<string>();
  for (const c of codes.values()) for (const n of generatorMethods(c)) methods.add(n);
  const isGenIn = (f: string) => {
    const imports = importsOf(f, raw.get(f)!);
    return (name: string): boolean => {
      const imp = imports.get(name);
      if (imp !== undefined) return own.get(imp[0])?.has(imp[1]) ?? false;
      return own.get(f)!.has(name);
    };
  };

  it('finds the generator functions it guards', () => {
    expect(own.get('src/impl/core/locking.ts')!.has('mutex_lock')).toBe(true);
    expect(own.get('src/impl/core/iopf.ts')!.has('iopf_queue_flush_dev')).toBe(true);
  });

  it('never calls a generator as a bare statement (its body would not run)', () => {
    const bad: string[] = [];
    for (const [f, c] of codes) for (const d of droppedCalls(c, isGenIn(f), methods)) bad.push(`${f}:${d.line}: ${d.name}(...) called without yield*`);
    expect(bad).toEqual([]);
  });

  it('catches a dropped call in a crafted source', () => {
    const src = codeOnly('function* a(): Co { yield* b(); }\nfunction* b(): Co {}\nfunction c() {\n  b();\n  if (x) b();\n  sync(k, b());\n  return b();\n  x.ops.go(1);\n  x.ops.go?.(2);\n  mem.go(3);\n}\ninterface O {\n  go(n: number): Co<void>;\n}\n');
    const names = generatorNames(src);
    expect(droppedCalls(src, (n) => names.has(n), generatorMethods(src)).map((d) => d.line)).toEqual([4, 5, 8, 9]);
  });
});
