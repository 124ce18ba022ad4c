/**
 * The search thread of a supervised run (supervise.ts): loads the runner module named by
 * the supervisor, runs one platform's search with the shared-memory step watch, and reports
 * progress, each trace as soon as it is written, and the summary. It decides nothing about
 * time: it stops when its budget is spent, when asked (between chunks), or when terminated.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { HarnessRunner, Progress, RunOptions } from './runner.js';
import { SharedStepWatch } from './sharedWatch.js';
import type { StartMessage, WorkerData, WorkerMessage } from './workerProtocol.js';

/** Progress is throttled: a message per run would cost more than the run's checks. */
const PROGRESS_EVERY_MS = 100;

const data = workerData as WorkerData;
const post = (m: WorkerMessage): void => parentPort!.postMessage(m);

const mod = (await import(data.runnerModule)) as { harnessRunner?: HarnessRunner };
const runner = mod.harnessRunner;
if (runner === undefined) {
  post({ type: 'done', result: { ok: false, error: `${data.runnerModule} exports no harnessRunner` } });
} else {
  const watch = new SharedStepWatch(data.shared);
  let last = -Infinity;
  const progress = (p: Progress): void => {
    const t = performance.now();
    if (p.done < 1 && t - last < PROGRESS_EVERY_MS) return;
    last = t;
    post({ type: 'progress', progress: p });
  };
  // Loaded: wait for the supervisor's go, which brings the deadline of a time budget (a
  // share of what is left when this platform's turn comes).
  post({ type: 'ready' });
  const start = await new Promise<StartMessage>((resolve) => parentPort!.once('message', resolve));
  const budget: RunOptions['budget'] = start.deadline === undefined
    ? data.opts.budget
    : { kind: 'time', seconds: Math.max(0.001, (start.deadline - (performance.timeOrigin + performance.now())) / 1000) };
  const result = runner.run({
    ...data.opts,
    budget,
    watch,
    progress,
    shouldStop: () => watch.stopRequested(),
    onTrace: (path) => post({ type: 'trace', path }),
  });
  post({ type: 'done', result });
}
