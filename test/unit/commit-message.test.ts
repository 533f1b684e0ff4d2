import { describe, expect, it } from 'vitest';
import { listingMessage, MESSAGE_LIST_MAX } from '../../bus/ops/commit-message.js';

describe('a commit message that lists tasks', () => {
  it('lists every line that fits, as given', () => {
    expect(listingMessage('gitbus: dispatch 2 tasks', ['a one', 'b two'])).toBe('gitbus: dispatch 2 tasks\n\na one\nb two');
  });

  it(`stops within ${MESSAGE_LIST_MAX} bytes (UTF-8) and says how many more there were`, () => {
    const lines = Array.from({ length: 600 }, (_, i) => `20261206-211031-${String(i).padStart(6, '0')} task ${i} — ünïcode`);
    const m = listingMessage('gitbus: dispatch 600 tasks', lines);
    expect(Buffer.byteLength(m)).toBeLessThanOrEqual(MESSAGE_LIST_MAX + 'and 600 more'.length + 1);
    const body = m.split('\n').slice(2);
    const listed = body.length - 1;
    expect(body.slice(0, listed)).toEqual(lines.slice(0, listed));
    expect(body.at(-1)).toBe(`and ${600 - listed} more`);
    expect(listed).toBeGreaterThan(100);
    // One line more would not have fitted.
    expect(Buffer.byteLength(['gitbus: dispatch 600 tasks', '', ...lines.slice(0, listed + 1)].join('\n'))).toBeGreaterThan(MESSAGE_LIST_MAX);
  });

  it('says only how many when not even one line fits', () => {
    expect(listingMessage('s', ['x'.repeat(100)], 50)).toBe('s\n\nand 1 more');
  });
});
