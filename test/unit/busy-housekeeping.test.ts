import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { busyHousekeeping } from '../../watcher/busy-housekeeping.js';

describe("a busy watcher's housekeeping", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('keeps house at the first wake, then at most once an interval however many wakes come, the last one never left out', () => {
    let now = 0;
    const kept: number[] = [];
    const busy = busyHousekeeping(() => (kept.push(now), null), 250, () => now);
    busy.wake();
    expect(kept).toEqual([0]);
    // Forty pushes of other nodes in a second: four more rounds, each at the end of its interval.
    for (let i = 1; i <= 40; i++) {
      now = i * 25;
      vi.advanceTimersByTime(25);
      busy.wake();
    }
    now = 1_250;
    vi.advanceTimersByTime(250);
    expect(kept).toEqual([0, 250, 500, 750, 1_000, 1_250]);
    // Quiet: nothing more is kept for nothing.
    now = 5_000;
    vi.advanceTimersByTime(3_750);
    expect(kept).toHaveLength(6);
    // A wake after a quiet while is served at once.
    busy.wake();
    expect(kept.at(-1)).toBe(5_000);
  });

  it("counts the interval from housekeeping started another way (the drain's own), and stop() drops the round to come", async () => {
    let now = 0;
    const kept: number[] = [];
    const busy = busyHousekeeping(() => (kept.push(now), null), 250, () => now);
    busy.started(Promise.resolve());
    await vi.advanceTimersByTimeAsync(0);
    now = 100;
    busy.wake();
    expect(kept).toEqual([]);
    now = 250;
    vi.advanceTimersByTime(150);
    expect(kept).toEqual([250]);
    now = 300;
    busy.wake();
    busy.stop();
    vi.advanceTimersByTime(1_000);
    expect(kept).toEqual([250]);
  });

  it('a wake while a round is under way is owed a round after it, the interval kept: a round past its look would miss it', async () => {
    let now = 0;
    const kept: number[] = [];
    const rounds: (() => void)[] = [];
    const busy = busyHousekeeping(
      () => {
        kept.push(now);
        return new Promise<void>((resolve) => rounds.push(resolve));
      },
      250,
      () => now,
    );
    busy.wake();
    expect(kept).toEqual([0]);
    // The round takes 600 ms (a slow look); wakes meanwhile, past the interval too, do not join it.
    now = 100;
    busy.wake();
    now = 400;
    await vi.advanceTimersByTimeAsync(400);
    busy.wake();
    expect(kept).toEqual([0]);
    now = 600;
    await vi.advanceTimersByTimeAsync(200);
    rounds[0]?.();
    await vi.advanceTimersByTimeAsync(0);
    // Owed: once more at once, since the interval from the first round's start has passed.
    expect(kept).toEqual([0, 600]);
    rounds[1]?.();
    await vi.advanceTimersByTimeAsync(0);
    // Nothing owed since: no round for nothing.
    now = 2_000;
    await vi.advanceTimersByTimeAsync(1_400);
    expect(kept).toEqual([0, 600]);
    // A round started elsewhere (the drain's) is awaited the same way.
    let end: () => void = () => undefined;
    busy.started(new Promise<void>((resolve) => (end = resolve)));
    now = 2_100;
    busy.wake();
    expect(kept).toEqual([0, 600]);
    end();
    await vi.advanceTimersByTimeAsync(0);
    expect(kept).toEqual([0, 600]);
    now = 2_250;
    await vi.advanceTimersByTimeAsync(150);
    expect(kept).toEqual([0, 600, 2_250]);
    busy.stop();
  });
});
