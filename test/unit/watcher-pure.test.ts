import { describe, it, expect, afterEach } from 'vitest';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pollCron } from '../../watcher/poll-schedule.js';
import { taskDir } from '../../watcher/task-dir.js';
import { outcomeSummary } from '../../watcher/run-task.js';
import { tempDir } from '../helpers/cli.js';

describe('pollCron', () => {
  it('turns an interval into a cron expression on wall-clock boundaries', () => {
    expect(pollCron(1_000)).toBe('*/1 * * * * *');
    expect(pollCron(30_000)).toBe('*/30 * * * * *');
    expect(pollCron(7_000)).toBe('*/6 * * * * *');
    expect(pollCron(200)).toBe('*/1 * * * * *');
    expect(pollCron(5 * 60_000)).toBe('0 */5 * * * *');
    expect(pollCron(3 * 3_600_000)).toBe('0 0 * * * *');
  });
});

describe('taskDir', () => {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => cleanup?.());
  it('keeps tasks inside the work root', async () => {
    const dir = await tempDir();
    cleanup = dir.cleanup;
    const root = join(dir.path, 'work');
    expect(taskDir(root, undefined)).toEqual({ cwd: root });
    mkdirSync(join(root, 'proj'), { recursive: true });
    expect(taskDir(root, 'proj')).toEqual({ cwd: join(root, 'proj') });
    expect(taskDir(root, '../outside')).toEqual({ reason: expect.stringContaining('outside') });
    expect(taskDir(root, 'missing')).toEqual({ reason: expect.stringContaining('does not exist') });
  });
});

describe('outcomeSummary', () => {
  it('says what ran and how it ended', () => {
    const task = { id: 't', attempt: 1, node: 'n', title: 'T', handoff: { title: 'T', command: 'make test\nmore' }, body: '', reclaimed: null };
    const t0 = new Date(0);
    const t1 = new Date(1500);
    expect(outcomeSummary(task, { status: 'succeeded', exitCode: 0, started: t0, finished: t1, outputTail: '' })).toBe('`make test` succeeded in 1.5 s.');
    expect(outcomeSummary(task, { status: 'failed', exitCode: 2, started: t0, finished: t1, outputTail: '', reason: 'exit code 2' })).toBe('`make test` failed: exit code 2.');
  });
});
