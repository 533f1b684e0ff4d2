import { defineConfig } from 'vitest/config';
import LongestFirstSequencer from './test/helpers/longest-first-sequencer.js';

const INTEGRATION = ['test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'];
const OWN_PROCESS = ['test/integration/iso-git-lean.test.ts'];

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
      // Integration and e2e files share worker processes too: a fresh process and module graph per file cost ~0.6
      // CPU-seconds each (docs/PERFORMANCE.md "The test suite"). What a file changes in its process (environment,
      // working folder, signal handlers) it puts back; the commands it runs in-process do the same
      // (test/helpers/cli-in-process.ts).
      { extends: true, test: { name: 'integration', include: INTEGRATION, exclude: OWN_PROCESS, isolate: false } },
      // A file that checks which modules its own process loaded needs a process no other file loaded modules into.
      { extends: true, test: { name: 'integration-own-process', include: OWN_PROCESS } },
    ],
  },
});
