import { defineConfig } from 'vitest/config';
import LongestFirstSequencer from './test/helpers/longest-first-sequencer.js';

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests spawn git and node processes on the two cores CI has, but most of their time is spent
    // waiting (SSH logins, leases, timers), so four files in flight shorten the run without starving the others;
    // the suite was kept green with two whole suites of three running at once, more load than this
    // (docs/PERFORMANCE.md).
    maxWorkers: 4,
    sequence: { sequencer: LongestFirstSequencer },
    globalSetup: ['test/helpers/global-setup.ts'],
    // The build, which e2e fixtures import for what is not their subject (test/helpers/bus.ts), is loaded by Node
    // as it is: through vitest's module runner the bus layer's modules cost more CPU than the CLI processes saved.
    server: { deps: { external: [/\/dist\//] } },
    projects: [
      // Unit tests are pure functions of their input (no process environment, no working directory changed): one
      // worker process runs many files and loads the shared modules once. A process and the module graph per
      // file cost ~90 s of CPU for 68 files against ~40 s (docs/PERFORMANCE.md "The test suite").
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'], isolate: false } },
      { extends: true, test: { name: 'integration', include: ['test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'] } },
    ],
  },
});
