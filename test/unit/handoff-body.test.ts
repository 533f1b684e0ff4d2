import { describe, expect, it } from 'vitest';
import { handoffBody } from '../../bus/ops/handoff-body.js';

describe('handoffBody', () => {
  it('puts the task under ## Task, once: a body file written in that shape keeps its own heading', () => {
    expect(handoffBody({ task: 'hello' })).toBe('## Task\n\nhello\n');
    expect(handoffBody({ task: '## Task\nhello\n' })).toBe('## Task\nhello\n');
    expect(handoffBody({ task: '## Tasks to do\nhello' })).toBe('## Task\n\n## Tasks to do\nhello\n');
    expect(handoffBody({ task: '## Task\n\nhello', context: 'why' })).toBe('## Task\n\nhello\n\n## Context\n\nwhy\n');
  });
});
