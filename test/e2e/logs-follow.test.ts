import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LOG_TAIL_BYTES } from '../../bus/ops/task-output.js';
import { BIN, gitbus, neutralCwd, TEST_CACHE_HOME } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { bounded, until } from '../helpers/wait.js';

/**
 * `gitbus logs --follow` and `dispatch --wait` as processes, following a task's output on this node's own log,
 * which they read on by position: output that repeats itself at the window's size (LOG_TAIL_BYTES) reads as the same
 * window every second, which matching the window's text took for nothing new and dropped. What they leave out of a
 * log past the window (its start, what came in faster than they read) is what their note says, and they read only
 * what the log adds, not its window each second.
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
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    return { pid: child.pid, bytes: () => bytes, stdout: () => Buffer.concat(out).toString(), stderr: () => err, exited };
  }

  /** Claims `id` here and gives it a log holding `bytes`; returns the log's path. */
  async function claimWithLog(id: string, bytes: Buffer | string): Promise<string> {
    const c = await gitbus(['claim', id, '--json'], { home: bus.home('alpha') });
    expect(c.code, c.stderr).toBe(0);
    const logs = join(bus.home('alpha'), 'logs');
    mkdirSync(logs, { recursive: true });
    const log = join(logs, `${id}.1.log`);
    // Renamed into place: a follower that already waits never reads it half written.
    writeFileSync(`${log}.new`, bytes);
    renameSync(`${log}.new`, log);
    return log;
  }

  /** `count` numbered lines of `width` bytes, the first numbered `from`. */
  function numbered(from: number, count: number): Buffer {
    const b = Buffer.alloc(count * width);
    for (let i = 0; i < count; i++) b.write(`${String(from + i).padStart(7, '0')} ${'.'.repeat(width - 9)}\n`, i * width);
    return b;
  }

  /** Bytes a process has read with read(2) and its kin, from files and pipes alike (Linux's /proc/PID/io). */
  function bytesRead(pid: number | undefined): number {
    const m = /^rchar: (\d+)$/m.exec(readFileSync(`/proc/${pid ?? 'none'}/io`, 'utf8'));
    return Number(m?.[1]);
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

  it("says at the end what logs --follow and dispatch --wait left out of a log past the window: its start before their first window, not before their last", async () => {
    const before = 16384; // 1 MiB of lines before the first window
    const more = 32768; // 2 MiB written after it, less than a window between two reads
    const id = 'noted-1';
    const wait = start(['dispatch', 'a log past the window that grows', '--to', 'alpha', '--id', id, '--no-git', '--wait']);
    await until('the dispatch', () => wait.stderr().includes(`dispatched ${id}`), 30_000, wait.stderr);
    const log = await claimWithLog(id, numbered(0, before + n));
    const follow = start(['logs', id, '--follow']);
    await until('the window printed', () => follow.bytes() >= n * width && wait.bytes() >= n * width, 30_000, () => `${follow.stderr()}\n${wait.stderr()}`);
    appendFileSync(log, numbered(before + n, more));
    await until('what was added printed', () => follow.bytes() >= (n + more) * width && wait.bytes() >= (n + more) * width, 30_000);
    await respond(id);
    expect(await bounded(follow.exited, 30_000, 'logs --follow to end with the task'), follow.stderr()).toBe(0);
    expect(await bounded(wait.exited, 30_000, 'dispatch --wait to end with the task'), wait.stderr()).toBe(0);
    const printed = numbered(before, n + more).toString();
    expect(follow.stdout() === printed).toBe(true);
    expect(wait.stdout() === printed).toBe(true);
    // The last read's window starts 3 MB in; what was not printed is the first 1 MB.
    const said = `gitbus: the log is 11.0 MB; its first 1.0 MB are not shown. All of it is in ${log}\n`;
    expect(follow.stderr()).toContain(said);
    expect(wait.stderr()).toContain(said);
    expect(follow.stderr() + wait.stderr()).not.toContain('3.0 MB');
  });

  it('says where a log grew by more than the window between two reads, how much was not printed and where all of it is, and counts it in the note', async () => {
    const jumped = 16384; // 1 MiB past the window, written at once with the window
    const id = 'jumps-1';
    const wait = start(['dispatch', 'a log that grows by more than the window at once', '--to', 'alpha', '--id', id, '--no-git', '--wait']);
    await until('the dispatch', () => wait.stderr().includes(`dispatched ${id}`), 30_000, wait.stderr);
    const log = await claimWithLog(id, numbered(0, 10));
    const follow = start(['logs', id, '--follow']);
    await until('the first lines printed', () => follow.bytes() >= 10 * width && wait.bytes() >= 10 * width, 30_000, () => `${follow.stderr()}\n${wait.stderr()}`);
    // The log as it is, and then 9 MiB, in one step: renamed over it, no read sees half of it.
    writeFileSync(`${log}.next`, Buffer.concat([numbered(0, 10), numbered(10, jumped + n)]));
    renameSync(`${log}.next`, log);
    await until('the window printed', () => follow.bytes() >= (10 + n) * width && wait.bytes() >= (10 + n) * width, 30_000, () => `${follow.stderr()}\n${wait.stderr()}`);
    await respond(id);
    expect(await bounded(follow.exited, 30_000, 'logs --follow to end with the task'), follow.stderr()).toBe(0);
    expect(await bounded(wait.exited, 30_000, 'dispatch --wait to end with the task'), wait.stderr()).toBe(0);
    // Said on stderr where the bytes were left out, not only at the end; stdout holds only what the task wrote.
    const said = `gitbus: ${jumped * width} bytes of output not shown here (more than 8 MB came in between two reads); all of it is in ${log}\n`;
    const printed = numbered(0, 10).toString() + numbered(10 + jumped, n).toString();
    expect(follow.stdout() === printed, follow.stdout().slice(0, 1000)).toBe(true);
    expect(wait.stdout() === printed, wait.stdout().slice(0, 1000)).toBe(true);
    expect(follow.stderr()).toContain(said);
    expect(wait.stderr()).toContain(said);
    const note = `gitbus: the log is 9.0 MB; 1.0 MB of it are not shown, where more than 8 MB came in between two reads (the output says where). All of it is in ${log}\n`;
    expect(follow.stderr()).toContain(note);
    expect(wait.stderr()).toContain(note);
  });

  it.skipIf(!existsSync('/proc/self/io') && process.env['CI'] !== 'true')('logs --follow and dispatch --wait read the log once, then only what it adds: not its window every second', async () => {
    const id = 'reads-1';
    const wait = start(['dispatch', 'a log as long as the window', '--to', 'alpha', '--id', id, '--no-git', '--wait']);
    await until('the dispatch', () => wait.stderr().includes(`dispatched ${id}`), 30_000, wait.stderr);
    const log = await claimWithLog(id, numbered(0, n));
    const follow = start(['logs', id, '--follow']);
    await until('the window printed', () => follow.bytes() >= n * width && wait.bytes() >= n * width, 30_000, () => `${follow.stderr()}\n${wait.stderr()}`);
    const [follow0, wait0] = [bytesRead(follow.pid), bytesRead(wait.pid)];
    // Each line printed is a read of the task's output at least: three of them, each over the window's 8 MiB.
    for (let k = 1; k <= 3; k++) {
      appendFileSync(log, numbered(n - 1 + k, 1));
      await until(`line ${k} added printed`, () => follow.bytes() >= (n + k) * width && wait.bytes() >= (n + k) * width, 30_000);
    }
    const read = { follow: bytesRead(follow.pid) - follow0, wait: bytesRead(wait.pid) - wait0 };
    await respond(id);
    expect(await bounded(follow.exited, 30_000, 'logs --follow to end with the task'), follow.stderr()).toBe(0);
    expect(await bounded(wait.exited, 30_000, 'dispatch --wait to end with the task'), wait.stderr()).toBe(0);
    expect(read.follow).toBeLessThan(LOG_TAIL_BYTES / 4);
    expect(read.wait).toBeLessThan(LOG_TAIL_BYTES / 4);
  });
});
