import { describe, expect, it } from 'vitest';
import { size, truncationNote } from '../../cli/output-note.js';
import { LOG_TAIL_BYTES } from '../../bus/ops/task-output.js';

const MiB = 1024 * 1024;
const path = '/home/n/.gitbus/logs/t-1.1.log';
/** This node's log of a run, read with its first `skipped` bytes left out. */
const local = (bytes: number, skipped: number) => ({ id: 't-1', node: 'n', source: 'local' as const, log: { path, bytes, skipped }, truncated: true });

describe('truncationNote', () => {
  it('says how much of a log barely over the window was left out in bytes or KB, never as 0.0 MB', () => {
    expect(truncationNote(local(LOG_TAIL_BYTES + 100, 100))).toBe(`gitbus: the log is 8.0 MB; its first 100 bytes are not shown. All of it is in ${path}`);
    expect(truncationNote(local(LOG_TAIL_BYTES + 1, 1))).toContain('its first byte is not shown');
    expect(truncationNote(local(LOG_TAIL_BYTES + 40 * 1024, 40 * 1024))).toContain('its first 40.0 KB are not shown');
    expect(truncationNote(local(11 * MiB, 3 * MiB))).toBe(`gitbus: the log is 11.0 MB; its first 3.0 MB are not shown. All of it is in ${path}`);
  });

  it('says the same of what a follower left out of the start of the log', () => {
    const followed = { path, bytes: LOG_TAIL_BYTES + 2048, first: 2048, between: 0 };
    expect(truncationNote({ ...local(followed.bytes, 0), truncated: false }, followed)).toBe(`gitbus: the log is 8.0 MB; its first 2048 bytes are not shown. All of it is in ${path}`);
    expect(truncationNote({ ...local(followed.bytes, 0), truncated: false }, { ...followed, first: 0, between: 0 })).toBeNull();
  });
});

describe('size', () => {
  it('is never 0.0 of a unit for something, nor rounded up to 1024.0 KB', () => {
    expect(size(0)).toBe('0 bytes');
    expect(size(10 * 1024 - 1)).toBe('10239 bytes');
    expect(size(10 * 1024)).toBe('10.0 KB');
    expect(size(MiB - 52)).toBe('1023.9 KB');
    expect(size(MiB - 51)).toBe('1.0 MB');
    expect(size(MiB + 1)).toBe('1.0 MB');
    expect(size(9.96 * MiB)).toBe('10.0 MB');
  });
});
