import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LOG_TAIL_BYTES } from '../../bus/ops/task-output.js';
import { BIN, gitbus, neutralCwd, TEST_CACHE_HOME } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { bounded, until } from '../helpers/wait.js';

/**
 * `gitbus logs --follow` and `dispatch --wait` as processes, following a task's output on this node's own log,
 * which they read on by position: output that repeats itself at the window's size (LOG_TAIL_BYTES) reads as the same
 * window every second, which matching the window's text took for nothing new and dropped.
 */
describe("following a task's output on this node's log", () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  const children: ChildProcess[] = [];
  /** A line of 64 bytes: the window holds a whole number of them. */
  const width = 64;
  const n = LOG_TAIL_BYTES / width;

  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha' });
  });
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await bus?.cleanup();
  });

  /** A gitbus command as its own process, its standard output as it comes. */
  function start(args: string[]) {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: neutralCwd(), env: { ...process.env, GITBUS_HOME: bus.home('alpha'), XDG_CACHE_HOME: TEST_CACHE_HOME }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    const out: Buffer[] = [];
    let bytes = 0;
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out.push(d);
      bytes += d.length;
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    return { bytes: () => bytes, stdout: () => Buffer.concat(out).toString(), stderr: () => err, exited };
  }

  /** Claims `id` here and gives it a log holding `bytes`; returns the log's path. */
  async function claimWithLog(id: string, bytes: Buffer | string): Promise<string> {
    const c = await gitbus(['claim', id, '--json'], { home: bus.home('alpha') });
    expect(c.code, c.stderr).toBe(0);
    const logs = join(bus.home('alpha'), 'logs');
    mkdirSync(logs, { recursive: true });
    const log = join(logs, `${id}.1.log`);
    writeFileSync(log, bytes);
    return log;
  }

  async function respond(id: string): Promise<void> {
    const r = await gitbus(['respond', id, '--status', 'succeeded', '--summary', 'done'], { home: bus.home('alpha') });
    expect(r.code, r.stderr).toBe(0);
  }

  it('logs --follow prints a block as long as the window each time it is written: every line once, in order', async () => {
    const block = Buffer.alloc(LOG_TAIL_BYTES);
    for (let i = 0; i < n; i++) block.write(`${String(i).padStart(7, '0')} ${'.'.repeat(width - 9)}\n`, i * width);
    const id = await bus.dispatch('alpha', ['a block at the window size', '--to', 'alpha']);
    const log = await claimWithLog(id, block);
    const follow = start(['logs', id, '--follow']);
    await until('the first block printed', () => follow.bytes() >= block.length, 30_000, follow.stderr);
    // The window read after this is the first block again, character for character.
    appendFileSync(log, block);
    await until('the second block printed', () => follow.bytes() >= 2 * block.length, 30_000, follow.stderr);
    await respond(id);
    expect(await bounded(follow.exited, 30_000, 'logs --follow to end with the task'), follow.stderr()).toBe(0);
    const lines = follow.stdout().split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.length).toBe(2 * n);
    expect(lines.findIndex((l, k) => Number(l.slice(0, 7)) !== k % n)).toBe(-1);
  });

  it('logs --follow and dispatch --wait print the same line written past the window each time it is written, once', async () => {
    const line = `${'tick '.repeat(12)}...\n`;
    expect(line.length).toBe(width);
    const id = 'repeats-1';
    const wait = start(['dispatch', 'the same line past the window', '--to', 'alpha', '--id', id, '--no-git', '--wait']);
    await until('the dispatch', () => wait.stderr().includes(`dispatched ${id}`), 30_000, wait.stderr);
    const log = await claimWithLog(id, line.repeat(n + 10));
    const follow = start(['logs', id, '--follow']);
    await until('the window printed', () => follow.bytes() >= n * width && wait.bytes() >= n * width, 30_000, () => `${follow.stderr()}\n${wait.stderr()}`);
    // Each window read from now on is the same text: n times the line.
    appendFileSync(log, line);
    await until('one more line', () => follow.bytes() >= (n + 1) * width && wait.bytes() >= (n + 1) * width, 30_000);
    appendFileSync(log, line.repeat(3));
    await until('three more lines', () => follow.bytes() >= (n + 4) * width && wait.bytes() >= (n + 4) * width, 30_000);
    await respond(id);
    expect(await bounded(follow.exited, 30_000, 'logs --follow to end with the task'), follow.stderr()).toBe(0);
    expect(await bounded(wait.exited, 30_000, 'dispatch --wait to end with the task'), wait.stderr()).toBe(0);
    expect(follow.stdout()).toBe(line.repeat(n + 4));
    expect(wait.stdout()).toBe(line.repeat(n + 4));
  });
});
