#!/usr/bin/env node
// Writes test/timings/file-seconds.json from a vitest JSON report (`npx vitest run --reporter=json
// --outputFile.json=report.json`, or `GITBUS_TEST_REPORT=report.json npm run check`): each test file's wall time in that run, in seconds, which the suite's
// sequencer (test/helpers/longest-first-sequencer.ts) starts longest first. Run it after a full run on a quiet
// machine when files were added or changed much; an old table only makes the order a little worse.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const reportPath = process.argv[2];
if (!reportPath) {
  console.error('usage: node scripts/test-durations.mjs REPORT.json (a vitest JSON report of a full run)');
  process.exit(2);
}
const report = JSON.parse(readFileSync(reportPath, 'utf8'));
const seconds = {};
for (const file of report.testResults) {
  // Named from the test folder of the run's own clone (CI's fresh clone is elsewhere than this checkout), as the
  // sequencer looks them up: `e2e/x.test.ts`.
  const name = /\/test\/((?:unit|integration|e2e)\/.+)$/.exec(file.name)?.[1] ?? relative(join(root, 'test'), file.name);
  seconds[name] = Math.round((file.endTime - file.startTime) / 100) / 10;
}
const sorted = Object.fromEntries(Object.entries(seconds).sort(([a], [b]) => (a < b ? -1 : 1)));
const out = join(root, 'test', 'timings', 'file-seconds.json');
writeFileSync(out, `${JSON.stringify(sorted, null, 1)}\n`);
console.log(`${Object.keys(sorted).length} files written to ${relative(root, out)}`);
