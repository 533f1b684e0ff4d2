import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { isAlive } from '../../bus/lock.js';
import { until } from '../helpers/wait.js';

const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
});

/**
 * A lock's holder is alive while its process is (a watcher's lock, a ref lock's mark). A holder killed and not yet
 * reaped is a zombie: it answers kill(pid, 0), and a probe saw a watcher killed with -9 keep the next one from
 * starting until its parent reaped it.
 */
describe.skipIf(!existsSync('/proc/self/stat') && process.env['CI'] !== 'true')('whether a lock holder lives', () => {
  it('a zombie (ended, not yet reaped) is no live holder; a running process is', async () => {
    // The shell starts a short sleep in the background, says its pid, and becomes a process that never reaps it.
    const parent = spawn('sh', ['-c', 'sleep 0.05 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
    children.push(parent);
    let out = '';
    parent.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    await until('the child pid', () => /^\d+\n/.test(out), 10_000);
    const pid = Number(out.trim());
    const state = () => readFileSync(`/proc/${pid}/stat`, 'latin1').replace(/^.*\) /s, '').charAt(0);
    await until('the child to be a zombie', () => state() === 'Z', 10_000);
    expect(isAlive(pid)).toBe(false);
    expect(isAlive(parent.pid as number)).toBe(true);
    expect(isAlive(process.pid)).toBe(true);
  });
});
