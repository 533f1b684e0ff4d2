import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Starts the test files longest first, from the wall times of a recorded full run (test/timings/file-seconds.json,
 * written by scripts/test-durations.mjs), so that no long file starts near the end and leaves the other workers
 * idle while it finishes: the suite's length is set by its last file. Vitest orders by the durations it cached in
 * node_modules/.vite, which a fresh clone (CI) does not have; it then falls back to the files' sizes, which do not
 * say how long a file waits on leases, SSH logins or other processes. A file the table lacks (a new one) counts
 * as long, as vitest runs unknown files first: it may be. docs/PERFORMANCE.md "The test suite".
 */
const UNKNOWN_SECONDS = 60;

function recorded(testDir: string): Map<string, number> {
  try {
    const table = JSON.parse(readFileSync(join(testDir, 'timings', 'file-seconds.json'), 'utf8')) as Record<string, unknown>;
    return new Map(Object.entries(table).filter((e): e is [string, number] => typeof e[1] === 'number'));
  } catch {
    // No table (or a broken one) orders as vitest would with no cache: the suite still runs, only less evenly.
    return new Map();
  }
}

export default class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const testDir = join(this.ctx.config.root, 'test');
    const seconds = recorded(testDir);
    const length = (f: TestSpecification) => seconds.get(relative(testDir, f.moduleId)) ?? UNKNOWN_SECONDS;
    // Projects keep vitest's order (its unisolated unit files share one worker, after the others).
    const base = await super.sort(files);
    const projects = [...new Set(base.map((f) => f.project.name))];
    const rank = (f: TestSpecification) => projects.indexOf(f.project.name);
    return [...base].sort((a, b) => rank(a) - rank(b) || length(b) - length(a));
  }
}
