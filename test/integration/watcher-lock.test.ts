import { describe, it, expect } from 'vitest';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { tempDir } from '../helpers/cli.js';
import { until } from '../helpers/wait.js';
import { acquireWatcherLock, howStarted, processStartTicks, watcherLockPath } from '../../watcher/watcher-lock.js';
import { WatcherRunningError } from '../../watcher/errors.js';

describe('the watcher lock', () => {
  it('is refused while its owner lives, and broken when the owner is dead or its pid now names another process', async () => {
    const dir = await tempDir('gitbus-wlock-');
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
    try {
      await until('the stand-in owner to run', () => process.platform !== 'linux' || (other.pid !== undefined && processStartTicks(other.pid) !== null));
      const pid = other.pid ?? -1;
      const owner = (startTicks: number | null) => JSON.stringify({ pid, host: hostname(), since: '2026-11-30T10:00:00.000Z', how: 'systemd service', startTicks });
      writeFileSync(watcherLockPath(dir.path), owner(processStartTicks(pid)));
      let refused: unknown;
      try {
        acquireWatcherLock(dir.path);
      } catch (err) {
        refused = err;
      }
      expect(refused).toBeInstanceOf(WatcherRunningError);
      expect((refused as Error).message).toContain(`pid ${pid} on ${hostname()}, since 2026-11-30T10:00:00.000Z (systemd service)`);
      if (process.platform === 'linux') {
        // The same pid with another start time is a recycled pid: the watcher that wrote the lock is gone.
        writeFileSync(watcherLockPath(dir.path), owner((processStartTicks(pid) ?? 0) + 1));
        acquireWatcherLock(dir.path).release();
      }
      other.kill('SIGKILL');
      await until('the stand-in owner to die', () => other.exitCode !== null || other.signalCode !== null);
      writeFileSync(watcherLockPath(dir.path), owner(null));
      const lock = acquireWatcherLock(dir.path);
      expect(() => acquireWatcherLock(dir.path)).toThrow(WatcherRunningError);
      lock.release();
      acquireWatcherLock(dir.path).release();
    } finally {
      other.kill('SIGKILL');
      await dir.cleanup();
    }
  });

  it('tells a service from a foreground run', () => {
    expect(howStarted({ INVOCATION_ID: 'abc' }, false)).toBe('systemd service');
    expect(howStarted({ XPC_SERVICE_NAME: 'dev.gitbus.watch' }, false)).toBe('launchd service dev.gitbus.watch');
    expect(howStarted({ INVOCATION_ID: 'abc' }, true)).toBe('foreground, in a terminal');
    expect(howStarted({}, false)).toBe('foreground');
  });
});
