import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { bootId, killLeftover, listRunning, processStart, recordRunning, stillRuns } from '../../watcher/running-record.js';
import { tempDir } from '../helpers/cli.js';
import { until } from '../helpers/wait.js';
import { groupAlive } from '../helpers/process-group.js';

/**
 * A watcher restarted after a crash kills the process groups its records in `<home>/running/` name
 * (watcher/restart-recovery.ts). After a reboot, or once a recorded pid was given to another process, the group of
 * that id is not the run's: it must be left alone (as root it could be a system service's). Real process groups.
 */
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.pid !== undefined) killGroupQuietly(c.pid);
});

function killGroupQuietly(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // gone
  }
}

function group(): number {
  const child = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });
  children.push(child);
  if (child.pid === undefined) throw new Error('sleep did not start');
  return child.pid;
}


describe.skipIf(process.platform !== 'linux')('a leftover run named by its record', () => {
  it('is killed when the record is of this boot and of the process that has its pid', async () => {
    const { path: home, cleanup } = await tempDir('running-record');
    try {
      const pid = group();
      recordRunning(home, { id: 't1', attempt: 1, pid });
      const [r] = listRunning(home);
      expect(r).toMatchObject({ id: 't1', attempt: 1, pid, boot: expect.any(String), started: processStart(pid) });
      if (!r) throw new Error('no record');
      expect(stillRuns(r)).toBe(true);
      expect(killLeftover(r)).toBe('killed');
      await until('the group to be gone', () => !groupAlive(pid), 5_000);
    } finally {
      await cleanup();
    }
  });

  it('is left alone when its pid is now another process (started at another time), or the record is of another boot', async () => {
    const pid = group();
    const started = processStart(pid);
    expect(started).toMatch(/^\d+$/);
    const reused = { id: 't2', attempt: 1, pid, boot: bootId() ?? '', started: String(Number(started) + 1) };
    expect(killLeftover(reused)).toBe('not-ours');
    expect(stillRuns(reused)).toBe(false);
    const earlierBoot = { id: 't3', attempt: 1, pid, boot: 'another-boot', started: started ?? '' };
    expect(killLeftover(earlierBoot)).toBe('not-ours');
    // A record of another boot names no run that still goes.
    expect(stillRuns(earlierBoot)).toBe(false);
    expect(groupAlive(pid)).toBe(true);
  });
});
