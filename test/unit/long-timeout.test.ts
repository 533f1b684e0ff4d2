import { afterEach, describe, expect, it, vi } from 'vitest';
import { MAX_TIMER_MS, setLongTimeout, timerMs } from '../../bus/long-timeout.js';

// Node's clock is the subject here (a delay of 30 days), so it is the one thing a test cannot wait for: vitest's
// fake timers stand in for it, with Node's own limit on one timer still in force.
afterEach(() => {
  vi.useRealTimers();
});

describe('setLongTimeout', () => {
  it('calls a task timeout of 30 days after 30 days, not at once as one Node timer would', () => {
    vi.useFakeTimers();
    const day = 86_400_000;
    let fired = 0;
    setLongTimeout(() => fired++, 30 * day);
    vi.advanceTimersByTime(1);
    expect(fired).toBe(0);
    vi.advanceTimersByTime(29 * day);
    expect(fired).toBe(0);
    vi.advanceTimersByTime(day);
    expect(fired).toBe(1);
  });

  it('is cleared in any of its steps', () => {
    vi.useFakeTimers();
    let fired = 0;
    const t = setLongTimeout(() => fired++, 3 * MAX_TIMER_MS);
    vi.advanceTimersByTime(MAX_TIMER_MS + 10);
    t.clear();
    vi.advanceTimersByTime(3 * MAX_TIMER_MS);
    expect(fired).toBe(0);
  });

  it('caps a repeating delay at what one timer holds', () => {
    expect(timerMs(1000)).toBe(1000);
    expect(timerMs(30 * 86_400_000)).toBe(MAX_TIMER_MS);
  });
});
