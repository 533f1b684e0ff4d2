import { describe, it, expect } from 'vitest';
import { newOutput } from '../../bus/ops/task-output.js';
import { stateLine } from '../../watcher/wait-for-task.js';
import type { TaskState } from '../../bus/model/types.js';

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

describe('the state line --wait prints', () => {
  const base: { id: string; state: TaskState; node: string; attempt: number } = { id: 'T1', state: 'claimed', node: 'beta', attempt: 1 };
  it('says the state, and offline the last known one with the reason', () => {
    expect(stateLine({ ...base, offline: null }).line).toBe('T1: claimed on beta (attempt 1)');
    const off = stateLine({ ...base, offline: { code: 'REMOTE_UNREACHABLE', reason: 'connection refused', lastContact: null } });
    expect(off.line).toBe('T1: the remote cannot be reached (connection refused); still waiting, last known claimed on beta (attempt 1)');
  });

  it('is said again when the state changes or the remote comes back, not when only the outage\'s error text changes', () => {
    const refused = stateLine({ ...base, offline: { code: 'REMOTE_UNREACHABLE', reason: 'connection refused', lastContact: null } });
    const timeout = stateLine({ ...base, offline: { code: 'REMOTE_UNREACHABLE', reason: 'timed out after 10 s', lastContact: '2026-12-02T12:00:00Z' } });
    expect(timeout.key).toBe(refused.key);
    expect(stateLine({ ...base, offline: null }).key).not.toBe(refused.key);
    expect(stateLine({ ...base, state: 'cancelling' as const, offline: null }).key).not.toBe(stateLine({ ...base, offline: null }).key);
  });
});
