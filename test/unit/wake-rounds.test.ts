import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { idleLooks } from '../../watcher/idle-looks.js';
import { wakeRounds } from '../../watcher/wake-rounds.js';
import type { WakeReason } from '../../watcher/wake-reason.js';

/** A watcher's wakes against a clock of the test's: each round's housekeeping noted with its time and reason. */
function rig(opts: { claims?: (why: WakeReason) => number } = {}) {
  let now = 0;
  let starts = 0;
  let runs = 0;
  let down = false;
  let current: Promise<boolean> | null = null;
  const looks: { at: number; why: WakeReason }[] = [];
  let why: WakeReason = 'tick';
  const stop = new AbortController();
  const rounds = wakeRounds({
    stop: stop.signal,
    health: {
      get isDown() {
        return down;
      },
      earlyLook: () => false,
    },
    // As house.keep() does, a call while a round of it runs joins that round.
    keepHouse: () => {
      if (current) return current;
      looks.push({ at: now, why });
      current = Promise.resolve(true).finally(() => (current = null));
      return current;
    },
    busyWake: () => undefined,
    drain: (reason) => {
      const started = opts.claims?.(reason) ?? 0;
      starts += started;
      runs += started;
      return Promise.resolve();
    },
    starts: () => starts,
    runs: () => runs,
    idle: (wake) => idleLooks(wake, 250, () => now),
  });
  return {
    looks,
    rounds,
    stop,
    /** A wake at `at` ms, its round let run to its end. */
    wake: async (reason: WakeReason, at: number) => {
      await vi.advanceTimersByTimeAsync(at - now);
      now = at;
      why = reason;
      await rounds.wake(reason);
      await vi.advanceTimersByTimeAsync(0);
    },
    /** The clock moved on to `at`, timers fired. */
    until: async (at: number) => {
      const step = at - now;
      now = at;
      why = 'change';
      await vi.advanceTimersByTimeAsync(step);
    },
    endRuns: () => (runs = 0),
    setDown: (d: boolean) => (down = d),
  };
}

describe("an idle watcher's wakes (watcher/wake-rounds.ts, watcher/idle-looks.ts)", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('after a round that found nothing, pushes within the interval are held and looked at once at its end; one after a quiet while at once', async () => {
    const r = rig();
    await r.wake('tick', 0);
    // Forty pushes of other nodes in a second: one look at the end of each quarter, not forty.
    for (let i = 1; i <= 40; i++) await r.wake('change', i * 25);
    await r.until(1_250);
    expect(r.looks.map((l) => l.at)).toEqual([0, 250, 500, 750, 1_000, 1_250]);
    // Quiet: nothing is looked at for nothing.
    await r.until(5_000);
    expect(r.looks).toHaveLength(6);
    // A push after a quiet while is looked at as it comes.
    await r.wake('change', 5_000);
    expect(r.looks.at(-1)?.at).toBe(5_000);
    r.rounds.stop();
  });

  it('holds nothing after a round that started a run or left one going, and never a tick, a freed slot, a rank deadline, a retry or a beat', async () => {
    // The first round takes a task; the run is still going at the next push.
    let first = true;
    const r = rig({ claims: () => (first ? ((first = false), 1) : 0) });
    await r.wake('tick', 0);
    await r.wake('change', 10);
    expect(r.looks.map((l) => l.at)).toEqual([0, 10]);
    // The run ended: the round at 10 started none and none goes, so a push 20 ms after it is held...
    r.endRuns();
    await r.wake('slot', 20);
    await r.wake('change', 30);
    expect(r.looks.map((l) => l.at)).toEqual([0, 10, 20]);
    // ...but none of the other reasons is.
    for (const [i, why] of (['tick', 'slot', 'rank', 'retry', 'beat'] as const).entries()) await r.wake(why, 40 + i * 10);
    expect(r.looks.map((l) => l.why)).toEqual(['tick', 'change', 'slot', 'tick', 'slot', 'rank', 'retry', 'beat']);
    // The held push comes at the interval's end from the last round's start (80 ms).
    await r.until(330);
    expect(r.looks.at(-1)).toEqual({ at: 330, why: 'change' });
    r.rounds.stop();
  });

  it('holds nothing while the remote is down, and stop() drops the held wake', async () => {
    const r = rig();
    await r.wake('tick', 0);
    r.setDown(true);
    // Down: the outage's own rules decide (here no early look is due), not the idle interval.
    await r.wake('retry', 10);
    expect(r.looks.map((l) => l.at)).toEqual([0, 10]);
    r.setDown(false);
    await r.wake('change', 20);
    expect(r.looks.map((l) => l.at)).toEqual([0, 10]);
    r.rounds.stop();
    await r.until(1_000);
    expect(r.looks.map((l) => l.at)).toEqual([0, 10]);
  });
});
