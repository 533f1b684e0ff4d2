import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pollTimer } from '../../watcher/poll-timer.js';
import { sourceFiles } from '../helpers/source-files.js';
import { until } from '../helpers/wait.js';

const ROOT = join(import.meta.dirname, '..', '..');

describe('the watcher\'s poll timer', () => {
  it('ticks at the times of its expression, once each', async () => {
    const ticks: number[] = [];
    const errors: unknown[] = [];
    const timer = pollTimer('* * * * * *', () => ticks.push(Date.now()), (e) => errors.push(e));
    try {
      await until('three ticks', () => ticks.length >= 3, 10_000);
    } finally {
      timer.stop();
    }
    // Each on its own second of the wall clock: never two for one time.
    const seconds = ticks.map((t) => Math.floor(t / 1000));
    expect(new Set(seconds).size).toBe(seconds.length);
    expect(errors).toEqual([]);
  });

  it('after the process was too busy to tick, ticks once and goes on, without making up the times it missed', async () => {
    const ticks: number[] = [];
    const timer = pollTimer('* * * * * *', () => ticks.push(Date.now()), () => undefined);
    try {
      // The event loop held past two of its times, as a loaded machine or a paused process would.
      const until2 = Date.now() + 2_500;
      while (Date.now() < until2) {
        // busy: no timer can run
      }
      const after = Date.now();
      await until('a tick after the busy spell', () => ticks.some((t) => t >= after), 10_000);
      await until('the next tick', () => ticks.filter((t) => t >= after).length >= 2, 10_000);
      // The two times it missed are not run in a burst: one tick a second of the wall clock, as ever.
      const seconds = ticks.map((t) => Math.floor(t / 1000));
      expect(new Set(seconds).size).toBe(seconds.length);
    } finally {
      timer.stop();
    }
  });

  it('goes on ticking when the wall clock is set back (NTP, a restored VM), not after the hour it went back', async () => {
    let back = 0;
    const clock = () => Date.now() - back;
    const ticks: number[] = [];
    const timer = pollTimer('* * * * * *', () => ticks.push(clock()), () => undefined, clock);
    try {
      await until('a tick', () => ticks.length >= 1, 10_000);
      back = 3_600_000;
      const stepped = ticks.length;
      await until('two ticks after the clock went back an hour', () => ticks.length >= stepped + 2, 10_000);
      expect(ticks.at(-1)).toBeLessThan(Date.now() - 3_500_000);
    } finally {
      timer.stop();
    }
  });

  it('no code uses the cron package\'s CronJob: it writes "Missed execution deadline" to the console, which no option turns off', () => {
    const users = ['bus', 'watcher', 'cli', 'mcp', 'web', 'claude', 'hooks', 'schemas'].flatMap((d) => sourceFiles(join(ROOT, d))).filter((f) => /\bCronJob\b/.test(readFileSync(f, 'utf8').replace(/\/\/.*|\/\*[\s\S]*?\*\//g, '')));
    expect(users).toEqual([]);
  });
});
