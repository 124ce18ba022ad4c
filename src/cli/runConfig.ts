/**
 * `run --config <file.json>`: a run's options kept in a small JSON file. The keys are the
 * option names of `run` (platform, topology, iommus, devices, mms, pages, pt-levels, seed,
 * runs, time, slice, step-timeout, traces, junit, fault) with JSON values; the file is validated with a schema and a bad
 * one is one line (`file: key: what`). Options on the command line override the file's.
 */
import { z } from 'zod';
import { faultIdRanges, MAX_MMS, MAX_PAGES, isFaultId } from '../shared/index.js';
import { type Checked, bad, good, parseJsonText, readTextFile } from '../trace/index.js';
import type { ParsedArgs } from './args.js';
import { SEED_MAX, SEED_MIN } from './values.js';

/** A run config is a handful of keys; anything near this size is not one. */
const MAX_CONFIG_BYTES = 64 * 1024;

const SEED_RANGE = `expected an integer from ${SEED_MIN} to ${SEED_MAX} (fast-check seeds are 32-bit)`;
const DURATION = 'expected seconds (90) or a duration ("90s", "2m", "1h")';

const count = (max: number) => z.int({ error: `expected an integer from 1 to ${max}` }).min(1).max(max);

export const runConfigSchema = z.strictObject({
  platform: z.enum(['vtd', 'smmuv3', 'amd', 'all', 'both'], { error: 'expected "vtd", "smmuv3", "amd" or "all"' }).optional(),
  topology: z.enum(['random', 'default'], { error: 'expected "random" or "default"' }).optional(),
  iommus: count(4).optional(),
  devices: count(4).optional(),
  mms: count(MAX_MMS).optional(),
  pages: count(MAX_PAGES).optional(),
  'pt-levels': z.union([z.literal(4), z.literal(5)], { error: 'expected 4 or 5' }).optional(),
  seed: z.int({ error: SEED_RANGE }).min(SEED_MIN, { error: SEED_RANGE }).max(SEED_MAX, { error: SEED_RANGE }).optional(),
  runs: z.int({ error: 'expected a positive integer' }).min(1).optional(),
  time: z.union([z.int().min(1, { error: DURATION }), z.string().regex(/^[1-9]\d*(s|m|h)?$/, { error: DURATION })], { error: DURATION }).optional(),
  traces: z.string({ error: 'expected a folder name' }).min(1).optional(),
  slice: z.string().regex(/^\d+\/\d+$/, { error: 'expected "I/N", e.g. "2/4"' }).optional(),
  'step-timeout': z.union([z.int().min(1, { error: DURATION }), z.string().regex(/^[1-9]\d*(s|m|h)?$/, { error: DURATION })], { error: DURATION }).optional(),
  junit: z.string({ error: 'expected a file name' }).min(1).optional(),
  fault: z.string().refine(isFaultId, { error: `expected a fault id ${faultIdRanges()}` }).optional(),
  // The same text as --fix (checked there): "all" or names joined by commas.
  fix: z.string({ error: 'expected finding names joined by commas, or "all"' }).min(1).optional(),
}).refine((c) => c.runs === undefined || c.time === undefined, { error: 'give runs or time, not both' });

export type RunConfig = z.infer<typeof runConfigSchema>;

/** Untrusted file → a RunConfig, or one line naming the file and the first problem. */
export const loadRunConfig = (path: string): Checked<RunConfig> => {
  const text = readTextFile(path, MAX_CONFIG_BYTES, 'run config');
  if (!text.ok) return text;
  const json = parseJsonText(text.value, path, MAX_CONFIG_BYTES, 'run config');
  if (!json.ok) return json;
  if (typeof json.value !== 'object' || json.value === null || Array.isArray(json.value)) {
    return bad(`${path}: a run config is a JSON object of run options`);
  }
  const parsed = runConfigSchema.safeParse(json.value);
  if (parsed.success) return good(parsed.data);
  const issue = parsed.error.issues[0];
  if (issue === undefined) return bad(`${path}: invalid run config`);
  if (issue.code === 'unrecognized_keys') return bad(`${path}: unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}`);
  const key = issue.path.map(String).join('.');
  return bad(`${path}: ${key === '' ? '(top level)' : key}: ${issue.message}`);
};

/** Budget options are one choice: either on the command line replaces the file's. */
const BUDGET = ['runs', 'time'] as const;

/**
 * The file's options under the command line's: the merged set goes through the same option
 * converters as a command line, so both give the same RunOptions.
 */
export const withRunConfig = (args: ParsedArgs, config: RunConfig): ParsedArgs => {
  const options = new Map<string, string | true>();
  const cliBudget = BUDGET.some((b) => args.options.has(b));
  for (const [key, value] of Object.entries(config)) {
    if (value === undefined || (cliBudget && (BUDGET as readonly string[]).includes(key))) continue;
    options.set(key, String(value));
  }
  for (const [key, value] of args.options) if (key !== 'config') options.set(key, value);
  return { options, positionals: args.positionals };
};
