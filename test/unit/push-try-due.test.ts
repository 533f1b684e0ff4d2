import { describe, expect, it } from 'vitest';
import { PUSH_RETRY_MAX_MS, PUSH_RETRY_MS, pushTryDue } from '../../watcher/workspace/deliver-branch.js';

/**
 * A project branch the remote keeps refusing is tried again less and less often (watcher/workspace/deliver-branch.ts
 * pushTryDue): every minute at first, then a quarter of the time it has been failing, up to half an hour. Before, it
 * was pushed every minute for as long as the node ran: 1,440 pushes a day against a host's push budget.
 */
describe('when a refused project branch is tried again', () => {
  const at = (ms: number) => new Date(ms).toISOString();
  const t0 = Date.parse('2026-12-07T00:00:00Z');

  it('is every minute while it has failed for a few minutes', () => {
    const push = { firstFailedAt: at(t0), lastTriedAt: at(t0 + 60_000) };
    expect(pushTryDue(push, t0 + 60_000 + PUSH_RETRY_MS - 1)).toBe(false);
    expect(pushTryDue(push, t0 + 60_000 + PUSH_RETRY_MS)).toBe(true);
  });

  it('backs off to a quarter of the time it has been failing, and never waits more than half an hour', () => {
    const hour = 3_600_000;
    const afterAnHour = { firstFailedAt: at(t0), lastTriedAt: at(t0 + hour) };
    // At 1h19 it has failed for 79 minutes: a wait of 19m45s; at 1h20, 20 minutes, which have passed.
    expect(pushTryDue(afterAnHour, t0 + hour + 19 * 60_000)).toBe(false);
    expect(pushTryDue(afterAnHour, t0 + hour + 20 * 60_000)).toBe(true);
    const afterADay = { firstFailedAt: at(t0), lastTriedAt: at(t0 + 24 * hour) };
    expect(pushTryDue(afterADay, t0 + 24 * hour + PUSH_RETRY_MAX_MS - 1)).toBe(false);
    expect(pushTryDue(afterADay, t0 + 24 * hour + PUSH_RETRY_MAX_MS)).toBe(true);
  });

  it('is due at once when it was never tried, or its times cannot be read', () => {
    expect(pushTryDue({}, t0)).toBe(true);
    expect(pushTryDue({ lastTriedAt: 'yesterday' }, t0)).toBe(true);
    expect(pushTryDue({ firstFailedAt: 'never', lastTriedAt: at(t0) }, t0 + PUSH_RETRY_MS)).toBe(true);
  });
});
