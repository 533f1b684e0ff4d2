import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The sequencer's table (test/timings/file-seconds.json, test/helpers/longest-first-sequencer.ts) names test files
 * relative to test/, as the sequencer looks them up: a table written with other names (a report from a clone
 * elsewhere, named relative to this checkout) leaves every file at the default and the order to chance.
 */
const testDir = fileURLToPath(new URL('..', import.meta.url));
const table = JSON.parse(readFileSync(`${testDir}timings/file-seconds.json`, 'utf8')) as Record<string, unknown>;

describe('the test timings table', () => {
  it('names existing test files relative to test/, each with its seconds', () => {
    const names = Object.keys(table);
    expect(names.length).toBeGreaterThan(100);
    for (const name of names) {
      expect(name, name).toMatch(/^(unit|integration|e2e)\/[^/].*\.test\.ts$/);
      expect(existsSync(`${testDir}${name}`), name).toBe(true);
      expect(typeof table[name], name).toBe('number');
    }
  });
});
