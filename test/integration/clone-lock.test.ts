import { describe, it, expect, afterEach } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { acquireLock, withLock } from '../../bus/lock.js';
import { LockTimeoutError } from '../../bus/errors.js';
import { tempDir } from '../helpers/cli.js';

describe('the clone lock', () => {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => cleanup?.());

  it('serialises holders in one process', async () => {
    const dir = await tempDir();
    cleanup = dir.cleanup;
    const path = join(dir.path, 'clone.lock');
    const order: string[] = [];
    await Promise.all(
      ['a', 'b', 'c'].map((name) =>
        withLock(path, async () => {
          order.push(`${name}+`);
          await new Promise((r) => setImmediate(r));
          order.push(`${name}-`);
        }),
      ),
    );
    // Every holder leaves before the next one enters.
    for (let i = 0; i < order.length; i += 2) expect(order[i]?.[0]).toBe(order[i + 1]?.[0]);
    expect(existsSync(path)).toBe(false);
  });

  it('breaks a lock whose process is gone, and waits for a live one until its deadline', async () => {
    const dir = await tempDir();
    cleanup = dir.cleanup;
    const path = join(dir.path, 'clone.lock');
    const dead = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => dead.on('exit', r));
    writeFileSync(path, JSON.stringify({ pid: dead.pid, host: hostname(), since: new Date().toISOString() }));
    const got = await acquireLock(path, 2_000);
    await got.release();

    const alive = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
    try {
      writeFileSync(path, JSON.stringify({ pid: alive.pid, host: hostname(), since: new Date().toISOString() }));
      const err = await acquireLock(path, 300).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LockTimeoutError);
      expect((err as LockTimeoutError).message).toContain(`pid ${alive.pid}`);
      expect((err as LockTimeoutError).fix).toContain(path);
    } finally {
      alive.kill('SIGKILL');
    }
  });
});
