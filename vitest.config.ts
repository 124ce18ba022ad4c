import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Two cores here: forks isolate the model suites' heaps without thread-shared overhead.
    pool: 'forks',
    testTimeout: 120_000,
    // Sums the model suites' checked steps across workers and prints the total; empties
    // test-results/traces/, where a failing search writes its counterexample for CI to upload.
    globalSetup: ['test/setup/stepTotals.ts', 'test/setup/counterexamples.ts'],
  },
});
