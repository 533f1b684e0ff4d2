import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpuShares } from '../../bench/cpu-share.js';
import { cpuMs } from '../../bench/process-cpu.js';

// The throughput bench's rows with a CPU share per watcher (bench/cpu-share.ts) mean something only if the share
// holds: a process that would use a whole core gets no more than its quota. Needs a cgroup the bench may make (root).
// Made and removed at once to learn whether the machine allows it: a file loaded but not run leaves no group behind.
const probe = cpuShares(1, 0.2);
const why = typeof probe === 'string' ? probe : '';
if (typeof probe !== 'string') probe.close();
if (why) console.warn(`skipped: the throughput bench's CPU shares need a cgroup with a CPU quota: ${why}`);

describe.skipIf(why !== '')("the throughput bench's CPU share for a watcher", () => {
  it('holds a process that spins in its group to a fifth of a core', async () => {
    const groups = cpuShares(1, 0.2);
    if (typeof groups === 'string') throw new Error(groups);
    const [share] = groups.shares;
    if (!share) throw new Error('no share made');
    // The shell joins the group and becomes node, as the bench starts a watcher; node spins for 1.5 s of wall time,
    // then says so and waits to be killed, while this process reads its CPU.
    const child = spawn('/bin/sh', ['-c', 'echo $$ > "$0" && exec "$@"', share.procs, process.execPath, '-e', 'const t = Date.now() + 1500; while (Date.now() < t); console.log("spun"); setTimeout(() => {}, 20000)'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const closed = new Promise<number | null>((resolve) => child.once('close', resolve));
    try {
      const pid = child.pid;
      if (pid === undefined) throw new Error('no pid');
      let out = '';
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('spun')) resolve();
        });
        void closed.then((code) => reject(new Error(`the spinner ended (${code}) before it spun: ${out}`)));
      });
      expect(readFileSync(share.procs, 'utf8').trim()).toBe(String(pid));
      // Unlimited, it would use ~1,500 ms; a fifth of a core over 1.5 s is 300 ms (node's start included), plus the
      // kernel's accounting of a period and its ticks.
      expect(cpuMs(pid)).toBeLessThanOrEqual(450);
    } finally {
      child.kill('SIGKILL');
      await closed;
      groups.close();
    }
  }, 30_000);
});
