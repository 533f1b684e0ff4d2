import { describe, it, expect } from 'vitest';
import { newOutput } from '../../bus/ops/task-output.js';

describe('newOutput', () => {
  it('prints only what a sliding window of the output adds', () => {
    expect(newOutput('', 'a\n')).toBe('a\n');
    expect(newOutput('a\n', 'a\nb\n')).toBe('b\n');
    // The window moved: its start dropped off, its end overlaps what was shown.
    expect(newOutput('l1\nl2\nl3\n', 'l2\nl3\nl4\n')).toBe('l4\n');
    // A wider window (the response) that contains everything already shown.
    expect(newOutput('l3\n', 'l1\nl2\nl3\n')).toBe('');
    expect(newOutput('l3\n', 'l1\nl2\nl3\nl4\n')).toBe('l4\n');
    // Nothing in common: the output moved on by more than a window.
    expect(newOutput('old\n', 'new\n')).toBe('new\n');
  });
});
