import type { Trace } from './trace.js';

/**
 * Deterministic JSON for traces: the same value gives the same bytes whatever order its objects
 * were built in. Keys follow a fixed rank (the order a reader wants: `kind` first in a command,
 * `ok` first in an observation), then code-unit order; 2-space indent; short shallow objects
 * and arrays on one line so a command or a step reads as one line; trailing newline.
 */
const KEY_RANK: readonly string[] = [
  // trace
  'formatVersion', 'harnessVersion', 'topology', 'seed', 'path', 'replayPath', 'fault', 'violation', 'commands', 'groups', 'steps',
  // topology
  'platform', 'iommus', 'devices', 'mms', 'pages', 'kpages', 'ptLevels',
  // iommu and device specs
  'iommu', 'group', 'pasidBits', 'didBits', 'asidBits', 'rangeInv', 'ats', 'pri',
  // command
  'kind', 'dev', 'mm', 'child', 'page', 'kpage', 'first', 'count', 'prot', 'write', 'site',
  // step, observation, event
  'expected', 'actual', 'events', 'ok', 'value', 'errno', 'lane', 'actor', 'text',
  // violation
  'invariant', 'title', 'step', 'objects', 'message',
  // concurrent group, its switches, tasks and points (an event's task and point last)
  'at', 'size', 'scheduler', 'depth', 'switches', 'to', 'tasks', 'points', 'name', 'firstAt', 'doneAt', 'task', 'what', 'switched',
];
const rank = new Map(KEY_RANK.map((k, i) => [k, i]));

/** Width under which a shallow container prints on one line. */
const INLINE_WIDTH = 100;

const compareKeys = (a: string, b: string): number => {
  const ra = rank.get(a) ?? KEY_RANK.length;
  const rb = rank.get(b) ?? KEY_RANK.length;
  if (ra !== rb) return ra - rb;
  return a < b ? -1 : a > b ? 1 : 0;
};

const isContainer = (v: unknown): v is object => typeof v === 'object' && v !== null;

/** The entries JSON would keep (undefined and functions dropped), in the stable order. */
const entriesOf = (o: object): [string, unknown][] =>
  Object.keys(o)
    .filter((k) => {
      const v = (o as Record<string, unknown>)[k];
      return v !== undefined && typeof v !== 'function';
    })
    .sort(compareKeys)
    .map((k) => [k, (o as Record<string, unknown>)[k]]);

const scalar = (v: unknown): string => JSON.stringify(v ?? null) ?? 'null';

const inline = (v: unknown): string => {
  if (!isContainer(v)) return scalar(v);
  if (Array.isArray(v)) return v.length === 0 ? '[]' : `[${v.map(inline).join(', ')}]`;
  const es = entriesOf(v);
  return es.length === 0 ? '{}' : `{ ${es.map(([k, x]) => `${JSON.stringify(k)}: ${inline(x)}`).join(', ')} }`;
};

/**
 * Shallow enough for one line: an array of scalars, or an object of scalars and such objects
 * (a step without events, a topology's IOMMU). Deeper values always break, so a command list
 * keeps one command per line.
 */
const shallow = (v: unknown, depth: number): boolean => {
  if (!isContainer(v)) return true;
  if (depth === 0) return false;
  if (Array.isArray(v)) return v.every((x) => !isContainer(x));
  return entriesOf(v).every(([, x]) => !Array.isArray(x) && shallow(x, depth - 1));
};

const write = (v: unknown, indent: string): string => {
  if (!isContainer(v)) return scalar(v);
  if (shallow(v, 2)) {
    const one = inline(v);
    if (one.length + indent.length <= INLINE_WIDTH) return one;
  }
  const inner = `${indent}  `;
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    return `[\n${v.map((x) => inner + write(x, inner)).join(',\n')}\n${indent}]`;
  }
  const es = entriesOf(v);
  if (es.length === 0) return '{}';
  return `{\n${es.map(([k, x]) => `${inner}${JSON.stringify(k)}: ${write(x, inner)}`).join(',\n')}\n${indent}}`;
};

/** Any plain JSON value in the stable layout, with a trailing newline. */
export const stableJson = (value: unknown): string => `${write(value, '')}\n`;

export const serializeTrace = (trace: Trace): string => stableJson(trace);
