import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

/**
 * Tests of wall-clock bounds on child processes (`run --time 5s` ends within 6 s, the step
 * watchdog, signals mid-run): they run last and alone. Beside two busy workers on two cores the
 * child, which loads tsx, src/ and a search thread per platform inside its 5 s, got too little
 * CPU to reach a single step (exit 0, no I-LOCKUP) at a load average of 12.
 */
const TIMED = ['test/cli/robustness.test.ts'];

const shared = {
  testTimeout: 120_000,
  // Threads, one module graph per worker reused from file to file: loading src/, xstate,
  // fast-check and zod again for each of ~190 files was half the suite's CPU time (a 57-file
  // subset: 22.9 s of CPU isolated in forks, 8.0 s shared in threads). Sharing is sound because
  // nothing in src/, models/ or properties/ keeps state between calls but per-Kernel WeakMaps,
  // caches of pure functions and a work meter armed per step, and no test mocks a module, stubs
  // a global or changes process.env or the cwd. One thing a shared worker does differ in:
  // `run --time` counts from the start of the thread (performance.timeOrigin), so an in-process
  // supervised run must take a --runs budget (test/cli/commands/run.test.ts says so).
  pool: 'threads',
  isolate: false,
} as const;

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          ...shared,
          name: 'suite',
          include: ['test/**/*.test.ts'],
          exclude: TIMED,
          // vitest's default is one worker fewer than the cores: on the 2 cores here (and on a
          // 2-core CI runner) that was one worker, the whole suite in series. The main process
          // has little to do once the shared workers hold the module graph.
          maxWorkers: Math.max(2, availableParallelism() - 1),
          // Sums the model suites' checked steps across workers and prints the total; empties
          // test-results/traces/, where a failing search writes its counterexample for CI to
          // upload. Here only: a project runs the global setup it is given.
          globalSetup: ['test/setup/stepTotals.ts', 'test/setup/counterexamples.ts'],
        },
      },
      {
        test: { ...shared, name: 'timed', include: TIMED, maxWorkers: 1, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
