import { defineConfig } from 'vitest/config';
import SlowFirstSequencer from './test/helpers/slow-first-sequencer.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests spawn git and node processes on the two cores CI has, but most of their time is spent
    // waiting (SSH logins, leases, timers), so four files in flight shorten the run without starving the others;
    // the suite was kept green with two whole suites of three running at once, more load than this
    // (docs/PERFORMANCE.md).
    maxWorkers: 4,
    sequence: { sequencer: SlowFirstSequencer },
    globalSetup: ['test/helpers/global-setup.ts'],
    // The build, which e2e fixtures import for what is not their subject (test/helpers/bus.ts), is loaded by Node
    // as it is: through vitest's module runner the bus layer's modules cost more CPU than the CLI processes saved.
    server: { deps: { external: [/\/dist\//] } },
  },
});
