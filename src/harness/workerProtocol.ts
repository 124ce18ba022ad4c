/** What the supervisor (supervise.ts) and its search thread (runWorkerMain.ts) exchange. */
import type { Checked } from '../trace/index.js';
import type { Progress, RunOptions, RunSummary } from './runner.js';

/** RunOptions without the callbacks (they cannot cross a thread). */
export type PlainRunOptions = Omit<RunOptions, 'progress' | 'onTrace' | 'shouldStop' | 'watch'>;

export interface WorkerData {
  /** URL of a module exporting `harnessRunner`. */
  readonly runnerModule: string;
  readonly opts: PlainRunOptions;
  readonly shared: SharedArrayBuffer;
}

/** The supervisor's go, once the thread is loaded and this platform's turn has come. */
export interface StartMessage {
  /** Epoch ms (performance.timeOrigin + now) at which a time budget ends. */
  readonly deadline?: number;
}

export type WorkerMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'progress'; readonly progress: Progress }
  | { readonly type: 'trace'; readonly path: string }
  | { readonly type: 'done'; readonly result: Checked<RunSummary> }
  /** Not sent by the thread: the supervisor's own note that it died (a harness bug). */
  | { readonly type: 'crash'; readonly error: string };
