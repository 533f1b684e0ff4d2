import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { noteClaimed, sawEnd, seenEndedPath } from '../../bus/trust/seen-ended.js';

/**
 * The log of what a node saw end (bus/trust/seen-ended.ts) is one file per node, appended by every process of the
 * node: its watcher, which runs for weeks, and the commands a person runs beside it. What another process wrote
 * counts in a long-lived one from its next look at the bus.
 */
const dir = mkdtempSync(join(tmpdir(), 'gitbus-seen-ended-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the seen-ended log, shared by the processes of a node', () => {
  it('a line another process appended counts in this one from its next look, and its own lines are not read twice', () => {
    const home = join(dir, 'home');
    noteClaimed(home, [['20261203-120000-aaaaaa', 1]]);
    // Another process of the node (a person's command) records a task it saw end.
    appendFileSync(seenEndedPath(home), '20261203-120000-bbbbbb\n');
    noteClaimed(home, [['20261203-120000-cccccc', 2]]);
    expect(sawEnd(home, '20261203-120000-bbbbbb')).toBe(true);
    // A claim this process saw already is not recorded again after the re-read.
    noteClaimed(home, [['20261203-120000-aaaaaa', 1], ['20261203-120000-cccccc', 2]]);
    appendFileSync(seenEndedPath(home), '20261203-120000-dddddd\n');
    noteClaimed(home, []);
    expect(sawEnd(home, '20261203-120000-dddddd')).toBe(true);
  });
});
