import { afterEach, describe, expect, it, vi } from 'vitest';
import { shutdown } from '../../watcher/shutdown.js';
import type { Running } from '../../watcher/claimed-run.js';

/**
 * A watcher's stop has one grace period (watcher/shutdown.ts): a service manager allows for one (systemd's
 * TimeoutStopSec is the grace plus 15 s) and kills the watcher after it, before its goodbye beat.
 */
describe('a watcher that stops', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('gives its runs and its background pushes one grace period between them, not one each', async () => {
    vi.useFakeTimers();
    const kill = new AbortController();
    // A run that ends only when aborted, and a push retried in the background that never settles.
    const done = new Promise<void>((resolve) => kill.signal.addEventListener('abort', () => resolve(), { once: true }));
    const running = new Map([['t1', { done } as Running]]);
    const events: string[] = [];
    const ending = shutdown({
      opts: { graceMs: 10_000, onEvent: (e) => events.push(e.type) },
      running,
      kill,
      delivery: { flush: async () => undefined, held: new Map(), settled: () => new Promise<void>(() => undefined) },
      goodbye: async () => void events.push('goodbye'),
      report: () => undefined,
    });
    const runsOver = ending.endRuns();
    await vi.advanceTimersByTimeAsync(10_000);
    await runsOver;
    expect(kill.signal.aborted).toBe(true);
    // The grace is spent: the background push is not waited for a second one.
    let over = false;
    const finished = ending.finish().then(() => {
      over = true;
    });
    await vi.advanceTimersByTimeAsync(1);
    expect(over).toBe(true);
    expect(events).toEqual(['stopping', 'goodbye', 'stopped']);
    await vi.advanceTimersByTimeAsync(10_000);
    await finished;
  });
});
