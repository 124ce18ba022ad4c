/**
 * A supervised run: each platform's search runs in its own worker thread (runWorkerMain.ts)
 * while this thread keeps the clock, so nothing a step does can keep the run from ending:
 *
 * - a step that has not returned after `stepTimeoutMs` of wall time (read from the
 *   shared-memory heartbeat, sharedWatch.ts; under a time budget at most a quarter of the
 *   platform's share, see MIN_STEP_TIMEOUT_MS) is a soft lockup: the thread is terminated and
 *   the commands of its run so far become an I-LOCKUP trace;
 * - a time budget is a hard bound on the whole run, counted from the process's start: each
 *   platform gets an equal share of what is left, the search is asked to stop at its share's
 *   end and terminated TOLERANCE_MS later;
 * - stop(signal) asks the search to stop between chunks and terminates it STOP_GRACE_MS later.
 *
 * Whatever ends a platform, its counts so far (the last progress message) and every trace it
 * wrote are in the summary.
 */
import { Worker } from 'node:worker_threads';
import { type Checked, bad, formatCommand, good, newTrace, saveTrace } from '../trace/index.js';
import type { Trace } from '../trace/index.js';
import { type Platform, failSitesOf, zeroIopfCounts } from '../shared/index.js';
import type { PlatformRunSummary, Progress, RunOptions, RunSummary, StopReason } from './runner.js';
import { WatchReader, newWatchBuffer } from './sharedWatch.js';
import { LOCKUP_ID, commandObjects, firstLine, invariantTitle } from './violation.js';
import type { PlainRunOptions, WorkerData, WorkerMessage } from './workerProtocol.js';

/** How far past its time budget a run may go: the search stops between chunks, or is killed. */
export const TOLERANCE_MS = 500;
/** After a stop request, how long the search has to reach the end of its chunk. */
export const STOP_GRACE_MS = 500;
/**
 * A sequential step takes microseconds and a concurrent group's linearization milliseconds, but
 * on a loaded 2-core host a grouped step has passed 1 s of wall time (a false I-LOCKUP from the
 * README's first command, 2026-12-07, SMMUv3 seed 1736, which replays clean): ten seconds is
 * still nothing next to a loop that never ends, and far from any step that does.
 */
export const DEFAULT_STEP_TIMEOUT_MS = 10_000;
/**
 * Under a time budget a step may take at most a quarter of its platform's share (so a hung
 * step is caught, with its trace, before the share ends), but never less than this: far above
 * any garbage-collection pause of the harness's heap.
 */
export const MIN_STEP_TIMEOUT_MS = 250;
const POLL_MS = 25;

export interface SuperviseOptions {
  /** URL of the module that exports `harnessRunner` (loaded again in each search thread). */
  readonly runnerModule: string;
  readonly stepTimeoutMs?: number;
  /** The seed the runner uses without one (HarnessRunner.defaultSeed), for the partial summary. */
  readonly seed: number;
}

export interface SupervisedRun {
  readonly done: Promise<Checked<RunSummary>>;
  /** A signal arrived: stop the search cleanly, with the counts and traces so far. */
  stop(reason: 'SIGINT' | 'SIGTERM'): void;
}

/** Epoch milliseconds on the monotonic clock. */
const epochNow = (): number => performance.timeOrigin + performance.now();

interface SearchThread {
  readonly platform: Platform;
  readonly platformOpts: PlainRunOptions;
  readonly worker: Worker;
  readonly reader: WatchReader;
  ready: boolean;
  /** Where its messages go once its turn has come. */
  handler: ((m: WorkerMessage) => void) | undefined;
  /** It failed before its turn. */
  early: string | undefined;
}

interface PlatformOutcome {
  readonly summary: PlatformRunSummary;
  readonly traces: readonly string[];
  readonly notes: readonly string[];
  readonly unwritten: readonly Trace[];
  readonly error?: string;
  /** The thread died: a harness bug, not bad input. */
  readonly internal?: boolean;
}

const fromProgress = (platform: Platform, p: Progress | undefined, extraViolations: number, stopped: StopReason): PlatformRunSummary => ({
  platform,
  runs: p?.runs ?? 0,
  steps: p?.steps ?? 0,
  distinctCommands: p?.distinctCommands ?? 0,
  transitionsCovered: p?.transitionsCovered ?? 0,
  transitionsTotal: p?.transitionsTotal ?? 0,
  violations: (p?.violations ?? 0) + extraViolations,
  elapsedMs: p?.elapsedMs ?? 0,
  known: p?.known ?? [],
  iopf: p?.iopf ?? zeroIopfCounts(),
  sitesFailed: p?.sitesFailed ?? [],
  sitesTotal: failSitesOf(platform).length,
  stopped,
});

/** The I-LOCKUP trace of a run whose last step never returned. */
const lockupTrace = (reader: WatchReader, opts: PlainRunOptions): Trace | undefined => {
  const run = reader.run();
  if (run === undefined) return undefined;
  const last = run.commands[run.commands.length - 1]!;
  const fault = opts.fault ?? opts.testFault;
  return newTrace({
    topology: run.topology,
    seed: run.seed,
    ...(fault === undefined ? {} : { fault }),
    // The fixes the run had on: without them the replay runs another kernel.
    ...(opts.fixes === undefined || opts.fixes.length === 0 ? {} : { fixes: opts.fixes }),
    commands: run.commands,
    // The groups with the switches their schedulers forced, the hung one's up to the hang:
    // replay runs the same schedules.
    ...(run.groups === undefined || run.groups.length === 0 ? {} : { groups: run.groups }),
    steps: [],
    violation: {
      invariant: LOCKUP_ID,
      title: invariantTitle(LOCKUP_ID),
      step: run.commands.length - 1,
      objects: commandObjects(last),
      // No timing in the text: the same hang gives the same trace, byte for byte. A concurrent
      // group that never returned is named whole: which member hung the watchdog cannot tell.
      message: `watchdog: BUG: soft lockup: ${run.commands.slice(run.stepAt).map(formatCommand).join(' | ')} did not return within the step timeout (wall clock); the search thread was stopped`,
    },
  });
};

export const superviseRun = (opts: RunOptions, sup: SuperviseOptions): SupervisedRun => {
  const stepTimeoutMs = sup.stepTimeoutMs ?? DEFAULT_STEP_TIMEOUT_MS;
  let signal: 'SIGINT' | 'SIGTERM' | undefined;
  const { progress, onTrace, shouldStop: _s, watch: _w, ...plain } = opts;
  const end = opts.budget.kind === 'time' ? performance.timeOrigin + opts.budget.seconds * 1000 : undefined;

  /**
   * Every platform's thread is started at once, so the later ones load while the first
   * searches; each waits for its go. `run` gives it its turn and watches it to the end.
   */
  const spawn = (platform: Platform): SearchThread => {
    const shared = newWatchBuffer();
    const platformOpts: PlainRunOptions = { ...plain, platforms: [platform] };
    const data: WorkerData = { runnerModule: sup.runnerModule, opts: platformOpts, shared };
    const worker = new Worker(new URL('./runWorker.mjs', import.meta.url), { workerData: data });
    const thread: SearchThread = { platform, platformOpts, worker, reader: new WatchReader(shared), ready: false, handler: undefined, early: undefined };
    worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'ready') thread.ready = true;
      thread.handler?.(m);
    });
    const gone = (why: string): void => {
      thread.early ??= why;
      thread.handler?.({ type: 'crash', error: why });
    };
    worker.on('error', (e) => gone(`${platform}: the search thread failed: ${firstLine(e)}`));
    worker.on('exit', () => gone(`${platform}: the search thread ended without a summary`));
    return thread;
  };

  /** `sharing`: the platforms still to run, this one included, that share what is left of a time budget. */
  const runPlatform = (thread: SearchThread, sharing: number): Promise<PlatformOutcome> => {
    const { platform, worker, reader, platformOpts } = thread;
    return new Promise((resolve) => {
      let last: Progress | undefined;
      const traces: string[] = [];
      let finished = false;
      let started = false;
      let beats = reader.beats();
      let beatAt = performance.now();
      let stopAskedAt: number | undefined;
      let stepMs = stepTimeoutMs;
      // Until its go, the thread is loading: only the run's own end bounds it.
      let deadline = end;
      const finish = (o: PlatformOutcome): void => {
        if (finished) return;
        finished = true;
        clearInterval(timer);
        thread.handler = undefined;
        void worker.terminate();
        resolve(o);
      };
      const go = (): void => {
        if (started) return;
        started = true;
        // Its share is taken when its turn comes, so the time the threads took to load is not lost.
        if (end !== undefined) deadline = epochNow() + Math.max(0, end - epochNow()) / sharing;
        if (deadline !== undefined) stepMs = Math.min(stepTimeoutMs, Math.max(MIN_STEP_TIMEOUT_MS, (deadline - epochNow()) / 4));
        worker.postMessage(deadline === undefined ? {} : { deadline });
      };
      const kill = (reason: StopReason): void => {
        // Read the run before the thread goes: terminate() does not wait for it.
        const hung = reason === 'lockup' ? lockupTrace(reader, platformOpts) : undefined;
        const notes: string[] = [];
        const unwritten: Trace[] = [];
        if (hung !== undefined) {
          const saved = saveTrace(hung, opts.tracesDir);
          if (saved.path !== undefined) {
            traces.push(saved.path);
            onTrace?.(saved.path);
          } else unwritten.push(hung);
          if (saved.note !== undefined) notes.push(`${platform}: ${saved.note}`);
          notes.push(`${platform}: watchdog: step #${hung.violation!.step} did not return within ${(stepMs / 1000).toFixed(2)} s of wall time (soft lockup)`);
        } else if (reason === 'lockup') {
          notes.push(`${platform}: a step did not return within ${stepMs / 1000} s; its run was too large to record, so no trace`);
        }
        finish({ summary: fromProgress(platform, last, reason === 'lockup' ? 1 : 0, reason), traces, notes, unwritten });
      };
      thread.handler = (m) => {
        switch (m.type) {
          case 'ready':
            go();
            return;
          case 'progress':
            last = m.progress;
            progress?.(m.progress);
            return;
          case 'trace':
            traces.push(m.path);
            onTrace?.(m.path);
            return;
          case 'crash':
            finish({ summary: fromProgress(platform, last, 0, 'time'), traces, notes: [], unwritten: [], error: m.error, internal: true });
            return;
          case 'done': {
            if (!m.result.ok) {
              finish({ summary: fromProgress(platform, last, 0, 'time'), traces, notes: [], unwritten: [], error: m.result.error });
              return;
            }
            // Ended by itself: its budget spent, or asked to stop by a signal (then say so).
            const s = m.result.value;
            const summary = s.platforms[0] ?? fromProgress(platform, last, 0, 'time');
            finish({
              summary: signal === undefined ? summary : { ...summary, stopped: signal },
              traces: s.traces, notes: s.notes ?? [], unwritten: s.unwritten ?? [],
            });
          }
        }
      };
      if (thread.early !== undefined) thread.handler({ type: 'crash', error: thread.early });
      else if (thread.ready) go();
      const timer = setInterval(() => {
        const t = performance.now();
        const b = reader.beats();
        if (b !== beats) {
          beats = b;
          beatAt = t;
        }
        if (reader.inStep() && t - beatAt >= stepMs) return kill('lockup');
        if (signal !== undefined && stopAskedAt === undefined) {
          reader.requestStop();
          stopAskedAt = t;
        }
        if (signal !== undefined && t - stopAskedAt! >= STOP_GRACE_MS) return kill(signal);
        if (deadline !== undefined && epochNow() >= deadline) {
          if (stopAskedAt === undefined) {
            reader.requestStop();
            stopAskedAt = t;
          }
          if (epochNow() >= deadline + TOLERANCE_MS) return kill('time');
        }
        return undefined;
      }, POLL_MS);
    });
  };

  const done = (async (): Promise<Checked<RunSummary>> => {
    const platforms: PlatformRunSummary[] = [];
    const traces: string[] = [];
    const notes: string[] = [];
    const unwritten: Trace[] = [];
    const threads = opts.platforms.map(spawn);
    for (const [i, thread] of threads.entries()) {
      if (signal !== undefined) break;
      const o = await runPlatform(thread, threads.length - i);
      // A dead thread is a harness bug (main reports it as an internal error, exit 70)
      // unless it leaves findings to report.
      if (o.internal === true && o.traces.length === 0) throw new Error(o.error);
      if (o.error !== undefined && o.traces.length === 0) return bad(o.error);
      if (o.error !== undefined) notes.push(o.error);
      platforms.push(o.summary);
      traces.push(...o.traces);
      notes.push(...o.notes);
      unwritten.push(...o.unwritten);
    }
    for (const t of threads) void t.worker.terminate();
    const killed = platforms.find((p) => p.stopped === 'time');
    const stopped: StopReason | undefined = signal ?? (killed === undefined ? undefined : 'time');
    return good({
      seed: opts.seed ?? sup.seed,
      ...(opts.fault === undefined ? {} : { fault: opts.fault }),
      ...(stopped === undefined ? {} : { stopped }),
      platforms, traces,
      ...(notes.length === 0 ? {} : { notes }),
      ...(unwritten.length === 0 ? {} : { unwritten }),
    });
  })();

  return {
    done,
    stop: (reason) => {
      signal ??= reason;
    },
  };
};
