import { createHash } from 'node:crypto';
import { closeSync, fstatSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { type Checked, bad, good } from './checked.js';
import { MAX_TRACE_BYTES } from './jsonText.js';
import { serializeTrace } from './serialize.js';
import type { Trace } from './trace.js';
import { parseTrace, traceProblem } from './validate.js';

let tempCounter = 0;

/**
 * Write `text` so that `path` holds either its old content or all of the new, never a part:
 * a temp file in the same directory (same filesystem, so rename is atomic), fsync, rename,
 * then fsync the directory so the rename itself survives a crash. The temp name comes from
 * the content hash, the pid and a counter: unique without randomness.
 */
export const writeFileAtomic = (path: string, text: string): Checked<string> => {
  const dir = dirname(path);
  const data = Buffer.from(text, 'utf8');
  const hash = createHash('sha256').update(data).digest('hex').slice(0, 12);
  const temp = join(dir, `.${basename(path)}.${hash}.${process.pid}.${tempCounter++}.tmp`);
  let fd: number | undefined;
  try {
    mkdirSync(dir, { recursive: true });
    fd = openSync(temp, 'wx', 0o644);
    for (let off = 0; off < data.length; ) off += writeSync(fd, data, off, data.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(temp, path);
  } catch (e) {
    if (fd !== undefined) closeQuietly(fd);
    try {
      unlinkSync(temp);
    } catch {
      // It may never have been created.
    }
    return bad(`${path}: cannot write: ${fsReason(e)}`);
  }
  syncDirectory(dir);
  return good(path);
};

/** Validates, serialises and writes a trace atomically; returns the path written. */
export const writeTrace = (path: string, trace: Trace): Checked<string> => {
  const problem = traceProblem(trace);
  if (problem !== undefined) return bad(`${path}: refusing to write an invalid trace: ${problem}`);
  return writeFileAtomic(path, serializeTrace(trace));
};

/** The size limit is checked on the open file before reading a byte of it. */
export const readTextFile = (path: string, limit = MAX_TRACE_BYTES): Checked<string> => {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const st = fstatSync(fd);
    if (st.isDirectory()) return bad(`${path}: is a directory, not a trace file`);
    if (st.size > limit) return bad(`${path}: too large (${st.size} bytes; the limit is ${limit} bytes)`);
    return good(readFileSync(fd, 'utf8'));
  } catch (e) {
    return bad(`${path}: cannot read: ${fsReason(e)}`);
  } finally {
    if (fd !== undefined) closeQuietly(fd);
  }
};

/** Read and validate a trace file: the only way the CLI and the regression suite load one. */
export const loadTrace = (path: string, limit = MAX_TRACE_BYTES): Checked<Trace> => {
  const text = readTextFile(path, limit);
  return text.ok ? parseTrace(text.value, path, limit) : text;
};

/**
 * A stable file name for a trace: the same run gives the same name, different
 * counterexamples of one seed do not collide (the hash covers the whole content).
 */
export const traceFileName = (trace: Trace): string => {
  const hash = createHash('sha256').update(serializeTrace(trace)).digest('hex').slice(0, 8);
  const what = (trace.violation?.invariant ?? 'pass').replace(/[^A-Za-z0-9_-]+/g, '_');
  return `${trace.topology.platform}-seed${trace.seed}-${what}-${hash}.json`;
};

const fsReason = (e: unknown): string => {
  const code = typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
  switch (code) {
    case 'ENOENT':
      return 'no such file or directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    case 'ENOTDIR':
      return 'a component of the path is not a directory';
    case 'ENOSPC':
      return 'no space left on device';
    case 'EROFS':
      return 'read-only file system';
    default:
      return typeof code === 'string' ? code : e instanceof Error ? e.message : String(e);
  }
};

const closeQuietly = (fd: number): void => {
  try {
    closeSync(fd);
  } catch {
    // Nothing useful to do: the error that brought us here is the one to report.
  }
};

/** Best effort: some filesystems refuse fsync on a directory, and the file is already whole. */
const syncDirectory = (dir: string): void => {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Not fatal (see above).
  }
};
