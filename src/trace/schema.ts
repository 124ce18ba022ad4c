import * as z from 'zod';
import { ERRNOS, FAIL_SITES, LANES, PLATFORMS } from '../shared/index.js';
import type { Errno, FailSite, Lane, Platform } from '../shared/index.js';
import { TRACE_FORMAT_VERSION } from './version.js';

/**
 * The trace format's shape, in zod 4. Structure only: numeric ranges depend on the trace's own
 * topology and are checked afterwards (ranges.ts, topologyError), with messages that name the
 * topology's bounds. Objects are strict: an unknown field in a versioned format is an error,
 * not something to ignore silently.
 */
const id = z.int();
const enumOf = <T extends string>(values: readonly T[]) => z.enum(values as [T, ...T[]]);

const topologySchema = z.strictObject({
  platform: enumOf<Platform>(PLATFORMS),
  iommus: z.array(z.strictObject({ pasidBits: id, didBits: id, asidBits: id, rangeInv: z.boolean(), prqSize: id.optional() })),
  devices: z.array(z.strictObject({ iommu: id, group: id, pasidBits: id, ats: z.boolean(), pri: z.boolean() })),
  mms: id,
  pages: id,
  kpages: id,
  ptLevels: id,
});

const userProt = z.enum(['r', 'rw']);

export const commandSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('bind'), dev: id, mm: id }),
  z.strictObject({ kind: z.literal('unbind'), dev: id, mm: id }),
  z.strictObject({ kind: z.literal('mmap'), mm: id, first: id, count: id, prot: userProt }),
  z.strictObject({ kind: z.literal('touch'), mm: id, page: id, write: z.boolean() }),
  z.strictObject({ kind: z.literal('munmap'), mm: id, first: id, count: id }),
  z.strictObject({ kind: z.literal('mprotect'), mm: id, page: id, prot: z.enum(['none', 'r', 'rw']) }),
  z.strictObject({ kind: z.literal('dma'), dev: id, mm: id, page: id, write: z.boolean() }),
  z.strictObject({ kind: z.literal('exit'), mm: id }),
  z.strictObject({ kind: z.literal('mmdrop'), mm: id }),
  z.strictObject({ kind: z.literal('fork'), mm: id, child: id }),
  z.strictObject({ kind: z.literal('spawn'), mm: id }),
  z.strictObject({ kind: z.literal('gracePeriod') }),
  z.strictObject({ kind: z.literal('prefetch'), dev: id, mm: id, page: id }),
  z.strictObject({ kind: z.literal('vmalloc'), kpage: id }),
  z.strictObject({ kind: z.literal('vfree'), kpage: id }),
  z.strictObject({ kind: z.literal('failNext'), site: enumOf<FailSite>(FAIL_SITES) }),
  z.strictObject({ kind: z.literal('failNth'), n: z.number().int().min(1) }),
  z.strictObject({ kind: z.literal('serviceFaults') }),
  z.strictObject({ kind: z.literal('prefetchKernel'), dev: id, mm: id, kpage: id }),
  z.strictObject({ kind: z.literal('unplug'), dev: id }),
  z.strictObject({ kind: z.literal('prg'), dev: id, mm: id, page: id, count: id, write: z.boolean(), rid: z.boolean(), last: z.boolean() }),
  z.strictObject({ kind: z.literal('attachPasid'), dev: id, hwpt: id, pasid: id }),
  z.strictObject({ kind: z.literal('detachPasid'), dev: id, hwpt: id }),
  z.strictObject({ kind: z.literal('iommuMap'), hwpt: id, page: id, write: z.boolean() }),
  z.strictObject({ kind: z.literal('iommuUnmap'), hwpt: id, page: id }),
  z.strictObject({ kind: z.literal('dmaIova'), dev: id, hwpt: id, page: id, write: z.boolean() }),
  z.strictObject({ kind: z.literal('migrate'), mm: id, page: id }),
  z.strictObject({ kind: z.literal('replacePasid'), dev: id, hwpt: id, from: id }),
  z.strictObject({ kind: z.literal('dmaPasid'), dev: id, pasid: id, page: id, write: z.boolean() }),
  z.strictObject({ kind: z.literal('stopMarker'), dev: id, mm: id }),
  z.strictObject({ kind: z.literal('guestMap'), page: id, gpa: id, write: z.boolean() }),
  z.strictObject({ kind: z.literal('guestUnmap'), page: id }),
  z.strictObject({ kind: z.literal('destroyHwpt'), hwpt: id }),
]);

const observationSchema = z.discriminatedUnion('ok', [
  z.strictObject({ ok: z.literal(true), value: z.number().optional() }),
  z.strictObject({ ok: z.literal(false), errno: enumOf<Errno>(ERRNOS), fault: z.string().optional() }),
]);

const eventSchema = z.strictObject({
  lane: enumOf<Lane>(LANES), actor: z.string(), text: z.string(),
  // Inside a concurrent group: the task that emitted it and the scheduling point.
  task: id.min(0).optional(), at: id.min(0).optional(),
});

const TASK_KINDS = ['cpu', 'kworker', 'irq', 'srcu', 'hw'] as const;

const groupSchema = z.strictObject({
  at: id.min(0),
  size: id.min(2),
  scheduler: z.enum(['random', 'pct', 'exhaustive', 'replay']),
  seed: id,
  depth: id.min(0).optional(),
  switches: z.array(z.strictObject({ at: id.min(0), to: id.min(0) })),
  tasks: z.array(z.strictObject({ name: z.string(), kind: z.enum(TASK_KINDS), firstAt: id.min(-1), doneAt: id.min(-1) })).optional(),
  points: z.array(z.strictObject({ at: id.min(0), task: id.min(0), what: z.string(), switched: z.boolean() })).optional(),
});

const stepSchema = z.strictObject({
  expected: observationSchema,
  actual: observationSchema,
  events: z.array(eventSchema).optional(),
});

const violationSchema = z.strictObject({
  invariant: z.string().min(1),
  title: z.string(),
  step: id,
  objects: z.record(z.string(), z.number()),
  message: z.string(),
});

export const traceSchema = z.strictObject({
  formatVersion: z.literal(TRACE_FORMAT_VERSION),
  harnessVersion: z.string(),
  topology: topologySchema,
  seed: id,
  path: z.string().optional(),
  replayPath: z.string().optional(),
  fault: z.string().optional(),
  fixes: z.array(z.string()).optional(),
  commands: z.array(commandSchema),
  groups: z.array(groupSchema).optional(),
  steps: z.array(stepSchema),
  violation: violationSchema.optional(),
});

/** The first zod issue as `where: what`, in words a trace's author can act on. */
export const describeIssue = (issue: z.core.$ZodIssue, input: unknown): string => {
  const where = formatJsonPath(issue.path);
  const got = valueAt(input, issue.path);
  const what = ((): string => {
    if (issue.code === 'invalid_union' && 'discriminator' in issue && typeof issue.discriminator === 'string') {
      const options = 'options' in issue && Array.isArray(issue.options) ? issue.options.map(String).join(', ') : '';
      if (issue.discriminator !== 'kind') return `${got === undefined ? 'missing' : `bad value ${show(got)}`} (expected one of: ${options})`;
      return got === undefined ? 'missing command kind' : `unknown command kind ${show(got)} (expected one of: ${options})`;
    }
    if (issue.code === 'unrecognized_keys') return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}`;
    const text = issue.message.replace(/^Invalid (input|option): /, '').replace(/, received \w+$/, '');
    return got === undefined ? `missing (${text})` : `${text}, got ${show(got)}`;
  })();
  return `${where}: ${what}`;
};

/** `commands[3].kind`; the document itself is `(top level)`. */
export const formatJsonPath = (path: readonly PropertyKey[]): string => {
  let out = '';
  for (const k of path) {
    if (typeof k === 'number') out += `[${k}]`;
    else out += out === '' ? String(k) : `.${String(k)}`;
  }
  return out === '' ? '(top level)' : out;
};

const valueAt = (input: unknown, path: readonly PropertyKey[]): unknown => {
  let v: unknown = input;
  for (const k of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
};

/** A short rendering of an offending value: never the whole of a large array or object. */
const show = (v: unknown): string => {
  const s = typeof v === 'string' ? `'${v}'` : (JSON.stringify(v) ?? String(v));
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
};
