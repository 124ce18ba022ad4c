/**
 * Every path `run` writes is checked before the search starts, so a typo costs a second, not
 * a finding: the traces folder is created (and removed again at the end if nothing was written
 * into it) and probed with a real write; the JUnit report's folder must exist. Temp files of
 * an atomic write that an earlier run was killed in the middle of are removed and reported.
 */
import { accessSync, constants, readdirSync, rmdirSync, statSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type Checked, TEMP_FILE, bad, fsReason, good, makeDirectories, writeFileAtomic } from '../trace/index.js';

export interface TracesDir {
  /** Folders this run created, deepest last; removed at the end if still empty. */
  readonly created: readonly string[];
  /** One line per stale temp file found: removed, or left because its writer still runs. */
  readonly notes: readonly string[];
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists, under another user.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

export const prepareTracesDir = (dir: string): Checked<TracesDir> => {
  let created: string[];
  try {
    const st = statSync(dir, { throwIfNoEntry: false });
    if (st !== undefined && !st.isDirectory()) return bad(`--traces ${dir}: is a file, not a folder`);
    created = makeDirectories(dir);
  } catch (e) {
    return bad(`--traces ${dir}: cannot create the folder: ${fsReason(e)}`);
  }
  const probe = writeFileAtomic(join(dir, `.sva-harness-probe.${process.pid}`), '');
  if (!probe.ok) return bad(`--traces ${dir}: cannot write there: ${probe.error.replace(/^.*: cannot write: /, '')}`);
  try {
    unlinkSync(probe.value);
  } catch {
    // Harmless: a dot file of zero bytes.
  }
  const notes: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const m = TEMP_FILE.exec(name);
    if (m === null) continue;
    const pid = Number(m[3]);
    const path = join(dir, name);
    if (pid !== process.pid && isAlive(pid)) {
      notes.push(`${path}: a temp file of a write in progress (pid ${pid} is running); left alone`);
      continue;
    }
    try {
      unlinkSync(path);
      notes.push(`${path}: removed the temp file of an interrupted write (pid ${pid}); its trace was never complete`);
    } catch (e) {
      notes.push(`${path}: the temp file of an interrupted write could not be removed: ${fsReason(e)}`);
    }
  }
  return good({ created, notes });
};

/** After the run: the folders it created and left empty go again. */
export const releaseTracesDir = (t: TracesDir): void => {
  for (let i = t.created.length - 1; i >= 0; i--) {
    try {
      rmdirSync(t.created[i]!);
    } catch {
      return; // Not empty (a trace was written), or gone: either way, done.
    }
  }
};

/** A report file: not a folder, in a folder that exists and is writable. */
export const checkReportPath = (option: string, path: string): Checked<string> => {
  const parent = dirname(path);
  try {
    const st = statSync(path, { throwIfNoEntry: false });
    if (st?.isDirectory() === true) return bad(`--${option} ${path}: is a folder, not a file`);
    const pst = statSync(parent, { throwIfNoEntry: false });
    if (pst === undefined) return bad(`--${option} ${path}: the folder ${parent} does not exist`);
    if (!pst.isDirectory()) return bad(`--${option} ${path}: ${parent} is not a folder`);
    accessSync(parent, constants.W_OK);
  } catch (e) {
    return bad(`--${option} ${path}: cannot write there: ${fsReason(e)}`);
  }
  return good(path);
};
