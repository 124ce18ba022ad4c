import { createHash } from 'node:crypto';
import { type Stats, closeSync, constants, fstatSync, fsyncSync, mkdirSync, openSync, readSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { type Checked, bad, good } from './checked.js';
import { MAX_TRACE_BYTES } from './jsonText.js';
import { serializeTrace } from './serialize.js';
import type { Trace } from './trace.js';
import { parseTrace, traceProblem } from './validate.js';

let tempCounter = 0;

/** The temp file an atomic write of `data` to `path` goes through (TEMP_FILE names its parts). */
export const atomicTempPath = (path: string, data: Buffer): string => {
  const hash = createHash('sha256').update(data).digest('hex').slice(0, 12);
  return join(dirname(path), `.${basename(path)}.${hash}.${process.pid}.${tempCounter++}.tmp`);
};

/**
 * Write `text` so that `path` holds either its old content or all of the new, never a part:
 * a temp file in the same directory (same filesystem, so rename is atomic), fsync, rename,
 * then fsync the directory so the rename itself survives a crash. The temp name comes from
 * the content hash, the pid and a counter: unique without randomness (TEMP_FILE).
 */
export const writeFileAtomic = (path: string, text: string): Checked<string> => {
  const dir = dirname(path);
  const data = Buffer.from(text, 'utf8');
  const temp = atomicTempPath(path, data);
  let fd: number | undefined;
  try {
    makeDirectories(dir);
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

/**
 * mkdir -p without `recursive: true`, which on Node 20 loops forever under /proc (mkdirSync
 * of /proc/nope): from the nearest existing ancestor down, one level at a time, so every
 * failure is the errno of one mkdir.
 */
export const makeDirectories = (dir: string): string[] => {
  const missing: string[] = [];
  for (let d = resolve(dir); ; d = dirname(d)) {
    let st: Stats | undefined;
    try {
      st = statSync(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    if (st !== undefined) {
      if (!st.isDirectory()) throw Object.assign(new Error(`${d} is not a directory`), { code: 'ENOTDIR' });
      break;
    }
    missing.push(d);
    if (dirname(d) === d) break;
  }
  const created: string[] = [];
  for (let i = missing.length - 1; i >= 0; i--) {
    mkdirSync(missing[i]!);
    created.push(missing[i]!);
  }
  return created;
};

/** The temp name of an atomic write: `.<name>.<hash>.<pid>.<n>.tmp`, so a stale one names its writer. */
export const TEMP_FILE = /^\.(.+)\.([0-9a-f]{12})\.(\d+)\.(\d+)\.tmp$/;

/** Validates, serialises and writes a trace atomically; returns the path written. */
export const writeTrace = (path: string, trace: Trace): Checked<string> => {
  const problem = traceProblem(trace);
  if (problem !== undefined) return bad(`${path}: refusing to write an invalid trace: ${problem}`);
  return writeFileAtomic(path, serializeTrace(trace));
};

/** Where a trace goes when its folder cannot take it. */
export const FALLBACK_TRACES_DIR = join(tmpdir(), 'sva-harness-traces');

/**
 * Writes a counterexample into `dir`; when that fails (the folder is a file, the disk is
 * full), into FALLBACK_TRACES_DIR. A finding is never dropped: `path` is where it went, `note`
 * says why it is not where asked, and with neither written the caller prints the trace.
 */
export const saveTrace = (trace: Trace, dir: string): { readonly path?: string; readonly note?: string } => {
  const name = traceFileName(trace);
  const first = writeTrace(join(dir, name), trace);
  if (first.ok) return { path: first.value };
  const fallback = writeTrace(join(FALLBACK_TRACES_DIR, name), trace);
  if (fallback.ok) return { path: fallback.value, note: `${first.error}; the trace was written to ${fallback.value} instead` };
  return { note: `${first.error}; the fallback failed too (${fallback.error}): the trace follows on stdout` };
};

/** What a non-regular file is, for the refusal line. */
const kindOf = (st: Stats): string =>
  st.isDirectory() ? 'a directory' : st.isFIFO() ? 'a named pipe (FIFO)' : st.isCharacterDevice() ? 'a character device'
    : st.isBlockDevice() ? 'a block device' : st.isSocket() ? 'a socket' : 'not a regular file';

/**
 * Untrusted input file → its text. Only regular files are read: the open is non-blocking, so a
 * FIFO with no writer is refused at once instead of hanging, and /dev/zero is refused instead
 * of read forever. The limit counts bytes actually read (fstat's size is 0 for devices and
 * pipes and may be stale for a file being appended to), so no input grows memory past it.
 * A UTF-8 byte-order mark is skipped; NUL bytes or invalid UTF-8 are refused as binary.
 * `what` names the expected document in messages ("trace", "run config").
 */
export const readTextFile = (path: string, limit = MAX_TRACE_BYTES, what = 'trace'): Checked<string> => {
  let fd: number | undefined;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const st = fstatSync(fd);
    if (!st.isFile()) return bad(`${path}: is ${kindOf(st)}, not a ${what} file`);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(READ_CHUNK, limit + 1 - total));
      const got = readSync(fd, chunk, 0, chunk.length, null);
      if (got === 0) break;
      chunks.push(got === chunk.length ? chunk : chunk.subarray(0, got));
      total += got;
      if (total > limit) return bad(`${path}: too large (over the limit of ${limit} bytes)`);
    }
    return decodeText(path, Buffer.concat(chunks, total), what);
  } catch (e) {
    return bad(`${path}: cannot read: ${fsReason(e)}`);
  } finally {
    if (fd !== undefined) closeQuietly(fd);
  }
};

const READ_CHUNK = 64 * 1024;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

const decodeText = (path: string, data: Buffer, what: string): Checked<string> => {
  const nul = data.indexOf(0);
  if (nul >= 0) return bad(`${path}: binary data (a NUL byte at offset ${nul}), not a JSON ${what}`);
  try {
    // ignoreBOM: false strips a leading U+FEFF, as editors on some systems write one.
    return good(utf8.decode(data));
  } catch {
    return bad(`${path}: not UTF-8 text (binary data?), not a JSON ${what}`);
  }
};

/** Read and validate a trace file: the only way the CLI and the regression suite load one. */
export const loadTrace = (path: string, limit = MAX_TRACE_BYTES): Checked<Trace> => {
  const text = readTextFile(path, limit, 'trace');
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

export const fsReason = (e: unknown): string => {
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
