import { defineConfig } from 'vitest/config';

/**
 * Files that need a fresh thread of their own. `run --time` counts its budget from the start of
 * the process (performance.timeOrigin, the thread's in a worker: src/harness/supervise.ts), so
 * a supervised in-process run with a time budget, in a thread that already ran other files for
 * a minute, would find its budget spent at once.
 */
const FRESH = ['test/cli/commands/run.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'shared',
          include: ['test/**/*.test.ts'],
          exclude: FRESH,
          // Threads, one module graph per worker, reused from file to file: loading src/, xstate,
          // fast-check and zod again for each of ~190 files was half the suite's CPU time (a
          // 57-file subset: 22.9 s of CPU isolated in forks, 8.0 s shared in threads). Sharing is
          // sound because nothing in src/, models/ or properties/ keeps state between calls but
          // per-Kernel WeakMaps, caches of pure functions and a work meter armed per step, and no
          // test mocks a module, stubs a global or changes process.env or the cwd.
          pool: 'threads',
          isolate: false,
          // Here only (a project inherits the root's and runs it again): sums the model suites'
          // checked steps across workers and prints the total; empties test-results/traces/,
          // where a failing search writes its counterexample for CI to upload.
          globalSetup: ['test/setup/stepTotals.ts', 'test/setup/counterexamples.ts'],
        },
      },
      {
        extends: true,
        test: { name: 'fresh', include: FRESH, pool: 'threads', isolate: true },
      },
    ],
  },
});
