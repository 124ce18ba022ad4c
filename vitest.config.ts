import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
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
    // vitest's default is one worker fewer than the cores: on the 2 cores here (and on a 2-core
    // CI runner) that was one worker, the whole suite in series. The main process has little to
    // do once the shared workers hold the module graph, so both cores run test files.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    testTimeout: 120_000,
    // Sums the model suites' checked steps across workers and prints the total; empties
    // test-results/traces/, where a failing search writes its counterexample for CI to upload.
    globalSetup: ['test/setup/stepTotals.ts', 'test/setup/counterexamples.ts'],
  },
});
