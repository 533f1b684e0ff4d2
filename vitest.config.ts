import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests spawn git and node processes on the two cores CI has, but most of their time is spent
    // waiting (SSH logins, leases, timers), so a third file in flight shortens the run without starving the
    // others; the suite stays green with two whole suites running at once (docs/PERFORMANCE.md).
    maxWorkers: 3,
    globalSetup: ['test/helpers/global-setup.ts'],
  },
});
