import { describe, it, expect } from 'vitest';
import { messageOf } from '../../bus/ops/respond-and-claim.js';
import type { ClaimResult } from '../../bus/ops/claim.js';
import type { BatchResponse } from '../../bus/ops/respond.js';

describe('the message of a commit that answers and claims', () => {
  const ok = (id: string, status: 'succeeded' | 'failed'): BatchResponse => ({ ok: true, result: { id, status, path: `responses/${id}.md` } });
  const claim = (id: string, attempt = 1) => ({ id, attempt }) as ClaimResult;
  it('names one result and one claim in the subject', () => {
    expect(messageOf('w', [ok('a', 'succeeded')], [claim('b', 2)], 'unused')).toBe('gitbus: respond a succeeded and claim b attempt 2 by w');
  });
  it('counts several, with one line per task below, and leaves results that were refused out', () => {
    const refused: BatchResponse = { ok: false, error: new Error('not ours') };
    expect(messageOf('w', [ok('a', 'succeeded'), refused, ok('c', 'failed')], [claim('d')], 'unused')).toBe('gitbus: respond 2 tasks and claim d attempt 1 by w\n\na succeeded\nc failed\nd attempt 1');
  });
  it('is the results-only message when nothing was claimed', () => {
    expect(messageOf('w', [ok('a', 'succeeded')], [], 'gitbus: respond a succeeded by w')).toBe('gitbus: respond a succeeded by w');
  });
});
