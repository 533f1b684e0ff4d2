import { describe, it, expect } from 'vitest';
import { newOutput, outputChange } from '../../bus/ops/output-change.js';
import { stateLine, stillLine } from '../../watcher/wait-for-task.js';
import { beatDetails, MAX_BEAT_DELIVERING } from '../../bus/ops/heartbeat.js';
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

  it('after a redrawn last line prints the lines from the change on a line of their own, never the whole output again', () => {
    const head = 'line one\nline two\nline three\n';
    let shown = `${head}progress 1%`;
    let printed = shown;
    for (const next of [`${head}progress 2%`, `${head}progress 3%`, `${head}progress 3%`, `${head}progress 12%\nfinished\n`]) {
      printed += newOutput(shown, next);
      shown = next;
    }
    expect(printed).toBe(`${head}progress 1%\nprogress 2%\nprogress 3%\nprogress 12%\nfinished\n`);
    // A heartbeat's window that slid while its last line was redrawn: the new lines only.
    const lines = Array.from({ length: 100 }, (_, i) => `output line ${i}\n`);
    const window = (from: number, to: number) => lines.slice(from, to).join('');
    expect(newOutput(`${window(0, 80)}downloading 10%`, `${window(5, 80)}downloading 100%\n${window(80, 85)}`)).toBe(`\ndownloading 100%\n${window(80, 85)}`);
  });

  it('tells a page to replace what it shows when the output is not a continuation of it', () => {
    expect(outputChange('a\n', 'a\nb\n')).toEqual({ reset: false, text: 'b\n' });
    expect(outputChange('l1\nl2\nl3\n', 'l2\nl3\nl4\n')).toEqual({ reset: false, text: 'l4\n' });
    expect(outputChange('x\nprogress 1%', 'x\nprogress 2%')).toEqual({ reset: true, text: 'x\nprogress 2%' });
    // A chance overlap of a few characters (the `%`… of a redrawn line) is no continuation.
    expect(outputChange('step 1 of 9: 50%', '%s done')).toEqual({ reset: true, text: '%s done' });
  });

  it('stays linear on big repetitive output (the overlap of 400,000 characters that all but match)', () => {
    const a = 'a'.repeat(400_000);
    expect(newOutput(`${a}b`, `${a}c`)).toBe(`\n${a}c`);
    expect(outputChange(`b${a}`, `${a}c`)).toEqual({ reset: false, text: 'c' });
    expect(outputChange(`${a}b`, `x${a}b${a}b`)).toEqual({ reset: false, text: '' });
    const ab = 'ab'.repeat(200_000);
    expect(outputChange(`x${ab}`, `${ab}c`)).toEqual({ reset: false, text: 'c' });
    expect(outputChange(`${ab}\n`, `b\n${ab}\nz`)).toEqual({ reset: false, text: 'z' });
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

  it('says, when nothing changed for a while, the state and how long the wait has gone (rounded to seconds)', () => {
    expect(stillLine({ ...base, offline: null }, 45_400, 300_000)).toBe('T1: claimed on beta (attempt 1); waited 45s of 5m');
    expect(stillLine({ ...base, state: 'pending' as const, node: null, attempt: null, offline: null }, 60_200, Number.POSITIVE_INFINITY)).toBe('T1: pending; waited 1m');
  });
});

describe('a result held for the project remote', () => {
  const base: { id: string; state: TaskState; node: string; attempt: number } = { id: 'T1', state: 'claimed', node: 'beta', attempt: 1 };
  const held = { since: '2026-12-04T10:00:00.000Z', reason: 'the project remote /p.git cannot be reached (no such repository)' };

  it('is said on the state line, once, whatever its reason becomes', () => {
    const line = stateLine({ ...base, offline: null, delivering: held });
    expect(line.line).toBe('T1: claimed on beta (attempt 1); finished on beta; its result waits for the project remote (the project remote /p.git cannot be reached (no such repository)) since 2026-12-04T10:00:00.000Z, and goes out when it answers');
    expect(line.key).not.toBe(stateLine({ ...base, offline: null }).key);
    expect(stateLine({ ...base, offline: null, delivering: { ...held, reason: 'timed out' } }).key).toBe(line.key);
  });

  it("is read from a heartbeat's delivering list, bounded and checked: what does not fit is left out", () => {
    const doc = {
      running: [],
      delivering: [
        { id: 'good', attempt: 2, since: '2026-12-04T10:00:00Z', reason: `line one\nline two \u001b[31m${'x'.repeat(1000)}` },
        { id: '../evil', attempt: 1, since: '2026-12-04T10:00:00Z', reason: 'r' },
        { id: 'noattempt', since: '2026-12-04T10:00:00Z', reason: 'r' },
        { id: 'zero', attempt: 0, since: '2026-12-04T10:00:00Z', reason: 'r' },
        { id: 'badtime', attempt: 1, since: 'yesterday', reason: 'r' },
        { id: 'noreason', attempt: 1, since: '2026-12-04T10:00:00Z' },
        'not an entry',
      ],
    };
    const d = beatDetails(doc).delivering;
    expect(Object.keys(d)).toEqual(['good.2']);
    expect(d['good.2']?.since).toBe('2026-12-04T10:00:00.000Z');
    expect(d['good.2']?.reason).toMatch(/^line one line two .*x…$/);
    expect(d['good.2']?.reason).not.toContain('\u001b');
    expect([...(d['good.2']?.reason ?? '')].length).toBe(300);
    // An older heartbeat without the list, or one with something else there, holds nothing.
    expect(beatDetails({ running: [] }).delivering).toEqual({});
    expect(beatDetails({ delivering: 'all of them' }).delivering).toEqual({});
    const many = Array.from({ length: MAX_BEAT_DELIVERING + 50 }, (_, i) => ({ id: `t${i}`, attempt: 1, since: '2026-12-04T10:00:00Z', reason: 'r' }));
    expect(Object.keys(beatDetails({ delivering: many }).delivering)).toHaveLength(MAX_BEAT_DELIVERING);
  });
});
