import { describe, it, expect } from 'vitest';
import { withListingBudget } from '../../bus/transport/listing-budget.js';
import type { Transport } from '../../bus/transport/transport.js';

/** A transport whose listings answer only when the test says so. */
function held() {
  const pending: ((refs: Map<string, string>) => void)[] = [];
  let calls = 0;
  const t: Transport = {
    display: 'http://example.invalid/bus.git',
    listRefs: () => {
      calls++;
      return new Promise((resolve) => pending.push(resolve));
    },
    readRef: async (ref) => (ref === 'refs/heads/main' ? 'b'.repeat(40) : null),
    advertise: () => Promise.reject(new Error('not used')),
    rpc: () => Promise.reject(new Error('not used')),
    close: async () => {},
  };
  return { t, answer: (refs: Map<string, string>) => pending.splice(0).forEach((r) => r(refs)), calls: () => calls };
}

describe('listing budget', () => {
  it('a listing past its budget is an outage for the caller, remembered for later callers, and over when the listing answers', async () => {
    const h = held();
    let clock = 0;
    const t = withListingBudget(h.t, { budgetMs: 20, rememberMs: 1000 }, () => clock);
    await expect(t.listRefs()).rejects.toMatchObject({ code: 'TRANSPORT_TIMEOUT' });
    // Remembered: at once, and no second listing is started.
    await expect(t.listRefs()).rejects.toMatchObject({ code: 'TRANSPORT_TIMEOUT' });
    expect(h.calls()).toBe(1);
    // One ref read alone is part of the same outage.
    await expect(t.readRef?.('refs/heads/main')).rejects.toMatchObject({ code: 'TRANSPORT_TIMEOUT' });
    // Past the memory, a caller waits on the listing still under way, which answers now.
    clock = 2000;
    const next = t.listRefs();
    h.answer(new Map([['refs/heads/main', 'a'.repeat(40)]]));
    expect((await next).get('refs/heads/main')).toBe('a'.repeat(40));
    expect(h.calls()).toBe(1);
    // The outage is over: a new listing is asked for.
    const fresh = t.listRefs();
    h.answer(new Map());
    await expect(fresh).resolves.toEqual(new Map());
    expect(h.calls()).toBe(2);
    // Out of the outage, as the transport reads it: a dispatch's delivery through the MCP server keeps its one read.
    await expect(t.readRef?.('refs/heads/main')).resolves.toBe('b'.repeat(40));
    await expect(t.readRef?.('refs/heads/other')).resolves.toBeNull();
  });

  it('has no readRef over a transport without one: a caller lists instead', () => {
    const h = held();
    const { readRef: _, ...withoutRead } = h.t;
    expect(withListingBudget(withoutRead, { budgetMs: 20, rememberMs: 1000 }).readRef).toBeUndefined();
  });
});
