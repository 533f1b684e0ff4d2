import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { idleLooks } from '../../watcher/idle-looks.js';
import { wakeRounds } from '../../watcher/wake-rounds.js';
import type { WakeReason } from '../../watcher/wake-reason.js';

/** A watcher's wakes against a clock of the test's: each round's housekeeping noted with its time and reason. */
function rig(opts: { claims?: (why: WakeReason) => number } = {}) {
  let early = 0;
  let gate: (() => void) | null = null;
  let slow = false;
  /** Each look finds main moved by others unless told otherwise (`quiet`). */
  let fetched = 0;
  let quiet = false;
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
      earlyLook: () => {
        early++;
        return false;
      },
    },
    // As house.keep() does, a call while a round of it runs joins that round.
    keepHouse: () => {
      if (current) return current;
      looks.push({ at: now, why });
      if (!quiet) fetched++;
      const round = slow ? new Promise<boolean>((resolve) => (gate = () => resolve(true))) : Promise.resolve(true);
      current = round.finally(() => (current = null));
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
    fetched: () => fetched,
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
    /** A run started outside any round (a claim that rode with a result). */
    startRun: () => {
      starts++;
      runs++;
    },
    earlyLooks: () => early,
    /** Whether the next looks find main where this node left it. */
    setQuiet: (q: boolean) => (quiet = q),
    /** The next round stays in its look until `release`. */
    slowNext: () => (slow = true),
    release: () => {
      slow = false;
      gate?.();
      gate = null;
    },
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

  it('holds nothing after a round that started a run, even one already ended, and never a tick, a freed slot, a rank deadline, a retry or a beat', async () => {
    // The first round takes a task, whose run (a quick one) has ended by the next push: there may be more work.
    let first = true;
    const r = rig({ claims: () => (first ? ((first = false), 1) : 0) });
    await r.wake('tick', 0);
    r.endRuns();
    await r.wake('change', 10);
    expect(r.looks.map((l) => l.at)).toEqual([0, 10]);
    // The round at 10 started none and none goes, so a push 20 ms after the next such round is held...
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

  it('holds nothing after a round that left a run going, nor while a run goes that no round started (a claim riding with a result)', async () => {
    const r = rig({ claims: (why) => (why === 'tick' ? 1 : 0) });
    await r.wake('tick', 0);
    // The round at 0 started a run; one at 10 starts none, but the run still goes.
    await r.wake('slot', 10);
    await r.wake('change', 20);
    expect(r.looks.map((l) => l.at)).toEqual([0, 10, 20]);
    // Idle again at 30 (the run ended)...
    r.endRuns();
    await r.wake('slot', 30);
    // ...then a claim rides with a result, outside any round: the next push (its cancel, perhaps) is not held.
    r.startRun();
    await r.wake('change', 40);
    expect(r.looks.map((l) => l.at)).toEqual([0, 10, 20, 30, 40]);
    r.rounds.stop();
  });

  it('a push during a round is served by that round at once, not held', async () => {
    const r = rig();
    await r.wake('tick', 0);
    await r.until(300);
    r.slowNext();
    const round = r.rounds.wake('tick');
    await r.until(310);
    void r.rounds.wake('change');
    await r.until(320);
    r.release();
    await round;
    await vi.advanceTimersByTimeAsync(0);
    expect(r.looks.map((l) => l.at)).toEqual([0, 300, 320]);
    r.rounds.stop();
  });

  it("holds nothing after a round that found main where this node left it (its own answer's push, its own write of the clone's main)", async () => {
    const r = rig();
    // Others pushed: the round at 0 finds main moved and nothing to do, so the push at 10 is held...
    await r.wake('change', 0);
    await r.wake('change', 10);
    expect(r.looks.map((l) => l.at)).toEqual([0]);
    // ...and served at 250 by a look that finds main unmoved (nobody else pushed): the bus is not busy after all.
    r.setQuiet(true);
    await r.until(250);
    expect(r.looks.map((l) => l.at)).toEqual([0, 250]);
    // So a push right after it (a task for this node) is looked at at once, not a quarter second later.
    r.setQuiet(false);
    await r.wake('change', 260);
    expect(r.looks.map((l) => l.at)).toEqual([0, 250, 260]);
    r.rounds.stop();
  });

  it('holds nothing while the remote is down (a push asks for its early look at once), and stop() drops the held wake', async () => {
    const r = rig();
    await r.wake('tick', 0);
    r.setDown(true);
    // Down: the outage's own rules decide (here no early look is due), not the idle interval.
    await r.wake('change', 10);
    expect(r.earlyLooks()).toBe(1);
    await r.wake('retry', 20);
    expect(r.looks.map((l) => l.at)).toEqual([0, 20]);
    r.setDown(false);
    await r.wake('change', 30);
    expect(r.looks.map((l) => l.at)).toEqual([0, 20]);
    r.rounds.stop();
    await r.until(1_000);
    expect(r.looks.map((l) => l.at)).toEqual([0, 20]);
  });
});
