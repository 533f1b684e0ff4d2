import { describe, it, expect, afterEach } from 'vitest';
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pollCron } from '../../watcher/poll-schedule.js';
import { taskDir } from '../../watcher/task-dir.js';
import { cancelReason, outcomeSummary } from '../../watcher/run-task.js';
import { readTail } from '../../watcher/runners/output-tail.js';
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

  it('gives each node its own phase in the interval, so a fleet does not ask the host in the same second', () => {
    const cron = createRequire(import.meta.url)('cron') as { CronTime: new (e: string, z: string) => { getNextDateFrom(d: Date, z: string): { toJSDate(): Date } } };
    const next = (expr: string) => new cron.CronTime(expr, 'UTC').getNextDateFrom(new Date('2026-12-02T00:00:00.500Z'), 'UTC').toJSDate().getTime();
    const seconds = (ms: number) => new Set(Array.from({ length: 100 }, (_, i) => (next(pollCron(ms, `node-${i}`)) - Date.parse('2026-12-02T00:00:00Z')) / 1000));
    // 100 nodes polling every 30 s: their first looks spread over the 30 s, most seconds taken by a few nodes.
    const every30 = seconds(30_000);
    expect(Math.max(...every30)).toBeLessThanOrEqual(30);
    expect(every30.size).toBeGreaterThanOrEqual(20);
    // Every 5 minutes: over the 300 s.
    expect(Math.max(...seconds(5 * 60_000))).toBeLessThanOrEqual(300);
    expect(seconds(5 * 60_000).size).toBeGreaterThanOrEqual(60);
    // A node keeps its phase; every second is every second.
    expect(pollCron(30_000, 'node-1')).toBe(pollCron(30_000, 'node-1'));
    expect(pollCron(1_000, 'node-1')).toBe('*/1 * * * * *');
    for (let i = 0; i < 100; i++) expect(() => next(pollCron(7 * 60_000, `n${i}`))).not.toThrow();
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

  it('takes a name that only starts with dots as inside the root (only ".." as a component leaves it)', async () => {
    const dir = await tempDir();
    cleanup = dir.cleanup;
    const root = join(dir.path, 'work');
    mkdirSync(join(root, '..foo'), { recursive: true });
    mkdirSync(join(root, 'a', '...'), { recursive: true });
    expect(taskDir(root, '..foo')).toEqual({ cwd: join(root, '..foo') });
    expect(taskDir(root, 'a/...')).toEqual({ cwd: join(root, 'a', '...') });
    expect(taskDir(root, '..')).toEqual({ reason: expect.stringContaining('outside') });
    expect(taskDir(root, 'a/../../x')).toEqual({ reason: expect.stringContaining('outside') });
  });

  it('runs a workdir that starts with a root name under that root, and never creates or leaves it', async () => {
    const dir = await tempDir();
    cleanup = dir.cleanup;
    const root = join(dir.path, 'work');
    const src = join(dir.path, 'src');
    mkdirSync(join(src, 'gitbus'), { recursive: true });
    mkdirSync(join(root, 'other'), { recursive: true });
    const named = new Map([
      ['src', src],
      ['gone', join(dir.path, 'not-there')],
    ]);
    expect(taskDir(root, 'src/gitbus', named)).toEqual({ cwd: join(src, 'gitbus') });
    expect(taskDir(root, 'src', named)).toEqual({ cwd: src });
    // Not a root name: the default root, as before.
    expect(taskDir(root, 'other', named)).toEqual({ cwd: join(root, 'other') });
    expect(taskDir(root, 'src/../../work', named)).toEqual({ reason: expect.stringContaining('outside this node\'s work root "src"') });
    expect(taskDir(root, 'src/missing', named)).toEqual({ reason: expect.stringContaining(`does not exist on this node (under ${src})`) });
    expect(taskDir(root, 'gone/x', named)).toEqual({ reason: `work root "gone" (${join(dir.path, 'not-there')}) does not exist on this node` });
    expect(existsSync(join(dir.path, 'not-there'))).toBe(false);
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

  it('a cancelled run says who cancelled it and why', () => {
    const task = { id: 't', attempt: 1, node: 'n', title: 'T', handoff: { title: 'T', command: 'make test' }, body: '', reclaimed: null };
    const o = { status: 'cancelled' as const, exitCode: null, started: new Date(0), finished: new Date(2000), outputTail: '', reason: 'stopped on request' };
    expect(outcomeSummary(task, o, { by: 'ada@laptop', reason: 'wrong branch' })).toBe('`make test` was cancelled after 2.0 s by ada@laptop: wrong branch.');
    expect(outcomeSummary(task, o, { by: 'ada@laptop' })).toBe('`make test` was cancelled after 2.0 s by ada@laptop.');
    expect(outcomeSummary(task, o)).toBe('`make test` was cancelled after 2.0 s.');
    expect(cancelReason({ by: 'ada@laptop', reason: 'wrong branch' }, 'stopped on request')).toBe('cancelled by ada@laptop: wrong branch (stopped on request)');
    expect(cancelReason({ by: 'ada@laptop' }, undefined)).toBe('cancelled by ada@laptop');
  });
});

describe('readTail', () => {
  it('keeps whole lines, and the end of a last line longer than the window rather than nothing', async () => {
    const dir = await tempDir();
    try {
      const log = join(dir.path, 'run.log');
      writeFileSync(log, `first\n${'x'.repeat(9000)}\n`);
      expect(await readTail(log, 100)).toBe(`${'x'.repeat(99)}\n`);
      writeFileSync(log, `${'x'.repeat(9000)}\r\n`);
      expect(await readTail(log, 100)).toBe(`${'x'.repeat(98)}\r\n`);
      writeFileSync(log, `${'x'.repeat(9000)}\nlast\n`);
      expect(await readTail(log, 100)).toBe('last\n');
      writeFileSync(log, 'short\n');
      expect(await readTail(log, 100)).toBe('short\n');
    } finally {
      await dir.cleanup();
    }
  });
});
