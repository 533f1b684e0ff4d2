import { describe, it, expect } from 'vitest';
import { byteSizeViolation, DEFAULT_LOG_SIZE, formatByteSize, MIN_LOG_SIZE, tryParseByteSize } from '../../schemas/byte-size.js';
import { nodeConfigSchema } from '../../bus/home.js';
import { problemsFromIssues } from '../../schemas/field-problems.js';
import { logCapOf } from '../../watcher/runners/log-keeper.js';

describe('sizes as node.yaml writes them', () => {
  it.each([
    ['64MiB', 64 * 1024 ** 2],
    ['64 MiB', 64 * 1024 ** 2],
    ['512KiB', 512 * 1024],
    ['1GiB', 1024 ** 3],
    ['1000B', 1000],
    ['65536', 65536],
    [65536, 65536],
    [0, 0],
  ])('reads %j as %d bytes', (text, bytes) => {
    expect(tryParseByteSize(text)).toBe(bytes);
  });

  it.each(['64M', '64MB', '64mb', '1.5GiB', '-1', ' 64MiB', '64  MiB', 'MiB', '', '9999999999999999GiB'])('reads %j as no size', (text) => {
    expect(tryParseByteSize(text)).toBeUndefined();
  });

  it('says what is wrong, and the spelling meant for the ones people reach for first', () => {
    expect(byteSizeViolation('64M', MIN_LOG_SIZE)?.reason).toBe('"64M" is not a size (write 64MiB: units are KiB, MiB and GiB, powers of 1024)');
    expect(byteSizeViolation('512kb', MIN_LOG_SIZE)?.reason).toContain('write 512KiB');
    expect(byteSizeViolation('lots', MIN_LOG_SIZE)).toEqual({ reason: '"lots" is not a size', fix: expect.stringContaining('64MiB, 512KiB, 1GiB') });
    expect(byteSizeViolation('1KiB', MIN_LOG_SIZE)).toEqual({ reason: '"1KiB" is less than 64KiB', fix: 'use at least 64KiB' });
    expect(byteSizeViolation('64KiB', MIN_LOG_SIZE)).toBeUndefined();
  });

  it('writes a size in the largest unit that keeps it whole', () => {
    expect(formatByteSize(64 * 1024 ** 2)).toBe('64MiB');
    expect(formatByteSize(1536 * 1024)).toBe('1536KiB');
    expect(formatByteSize(1000)).toBe('1000B');
  });
});

describe('node.yaml maxLogSize', () => {
  const base = { node: 'a', remote: '/tmp/r' };

  it('is a cap of its own on each task log, 64MiB when not given, with an end kept of at most 512 KiB', () => {
    expect(logCapOf(nodeConfigSchema.parse(base))).toEqual({ bytes: DEFAULT_LOG_SIZE, end: 512 * 1024, text: '64MiB' });
    expect(logCapOf(nodeConfigSchema.parse({ ...base, maxLogSize: '64KiB' }))).toEqual({ bytes: 65536, end: 16384, text: '64KiB' });
    expect(logCapOf(nodeConfigSchema.parse({ ...base, maxLogSize: 1024 ** 3 }))).toEqual({ bytes: 1024 ** 3, end: 512 * 1024, text: '1GiB' });
    expect(logCapOf(undefined).bytes).toBe(DEFAULT_LOG_SIZE);
  });

  it('refuses a value that is not a size, or less than 64KiB, naming the field and the fix', () => {
    for (const [value, reason] of [
      ['64MB', '"64MB" is not a size (write 64MiB'],
      ['10KiB', '"10KiB" is less than 64KiB'],
      [true, 'true is not a size'],
    ] as const) {
      const r = nodeConfigSchema.safeParse({ ...base, maxLogSize: value });
      expect(r.success).toBe(false);
      const problems = r.success ? [] : problemsFromIssues('node.yaml', nodeConfigSchema, r.error.issues);
      expect(problems.filter((p) => p.field === 'maxLogSize'), JSON.stringify(problems)).toEqual([expect.objectContaining({ reason: expect.stringContaining(reason), fix: expect.any(String) })]);
    }
  });
});
