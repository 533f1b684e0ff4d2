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
    const busy = busyHousekeeping(() => kept.push(now), 250, () => now);
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

  it("counts the interval from housekeeping started another way (the drain's own), and stop() drops the round to come", () => {
    let now = 0;
    const kept: number[] = [];
    const busy = busyHousekeeping(() => kept.push(now), 250, () => now);
    busy.started();
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
});
