import { describe, it, expect } from 'vitest';
import { instanceId, latestDue, shortestGapMs } from '../../bus/model/schedule.js';

describe('schedules', () => {
  it('finds the latest due time at or before now, in UTC', () => {
    const now = new Date('2026-11-21T10:17:42Z');
    expect(latestDue('*/5 * * * *', now)?.toISOString()).toBe('2026-11-21T10:15:00.000Z');
    expect(latestDue('0 9 * * *', now)?.toISOString()).toBe('2026-11-21T09:00:00.000Z');
    expect(latestDue('0 11 * * *', now)?.toISOString()).toBe('2026-11-20T11:00:00.000Z');
    expect(latestDue('*/2 * * * * *', now)?.toISOString()).toBe('2026-11-21T10:17:42.000Z');
    expect(latestDue('0 0 1 1 *', now)?.toISOString()).toBe('2026-01-01T00:00:00.000Z');
  });

  it('catches up a yearly due time until the next one, also in its last day (the look-back reaches 400 days)', () => {
    const created = new Date('2025-12-01T00:00:00Z');
    expect(latestDue('0 0 1 1 *', new Date('2026-12-30T00:00:00Z'), created)?.toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(latestDue('0 0 1 1 *', new Date('2026-12-31T12:00:00Z'), created)?.toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(latestDue('0 0 1 1 *', new Date('2026-12-31T23:59:59Z'), created)?.toISOString()).toBe('2026-01-01T00:00:00.000Z');
  });

  it('measures the shortest gap between due times over the next 35 days; a yearly or impossible schedule does not throw', () => {
    const now = new Date('2026-11-21T10:17:42Z');
    expect(shortestGapMs('*/10 * * * * *', now)).toBe(10_000);
    expect(shortestGapMs('*/5 * * * *', now)).toBe(300_000);
    expect(shortestGapMs('0 9,10 * * *', now)).toBe(3_600_000);
    expect(shortestGapMs('0 0 1 1 *', now)).toBeNull();
    expect(shortestGapMs('0 0 30 2 *', now)).toBeNull();
    // A burst once a week or once a month, from a day far from it (2026-11-21 is a Saturday).
    expect(shortestGapMs('* 9 * * 1', now)).toBe(60_000);
    expect(shortestGapMs('*/2 9 1 * *', now)).toBe(120_000);
    expect(shortestGapMs('0 9 * * 1', now)).toBe(7 * 86_400_000);
  });

  it('is due at most once per tick, and never before the schedule existed', () => {
    const created = new Date('2026-11-21T10:16:00Z');
    expect(latestDue('*/5 * * * *', new Date('2026-11-21T10:17:00Z'), created)).toBeNull();
    expect(latestDue('*/5 * * * *', new Date('2026-11-21T10:20:00Z'), created)?.toISOString()).toBe('2026-11-21T10:20:00.000Z');
  });

  it('names instances the same way on every node, within the id rules', () => {
    const due = new Date('2026-11-21T10:15:00Z');
    expect(instanceId('nightly-build', due)).toBe('nightly-build-20261121101500');
    const long = 'x'.repeat(60);
    const id = instanceId(long, due);
    expect(id.length).toBeLessThanOrEqual(64);
    expect(id).toMatch(/^x{42}-[0-9a-f]{6}-20261121101500$/);
    expect(instanceId(long, due)).toBe(id);
  });
});
