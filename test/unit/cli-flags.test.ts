import { describe, expect, it } from 'vitest';
import { GitbusError } from '../../schemas/errors.js';
import { taskIdSchema } from '../../schemas/fields.js';
import { durationFlag, durationMs, handoffFlagError, intFlag, oneOfFlag, repeatableFlag, schemaFlag } from '../../cli/flags.js';
import { exitCodeFor, EXIT } from '../../cli/exit-codes.js';

/** The error a parser throws for `value`, checked to be a usage error naming the flag. */
function refusal(parse: (v: string) => unknown, value: string, flag: string): GitbusError {
  let caught: unknown;
  try {
    parse(value);
  } catch (err) {
    caught = err;
  }
  expect(caught, `${flag} ${value}`).toBeInstanceOf(GitbusError);
  const err = caught as GitbusError;
  expect(exitCodeFor(err)).toBe(EXIT.usage);
  expect(err.message).toContain(flag);
  expect(err.fix).toContain(flag);
  expect(err.data['flag']).toBe(flag);
  return err;
}

describe('flag parsers', () => {
  it('intFlag takes whole numbers in range and names the range otherwise', () => {
    expect(intFlag('--priority', -1000, 1000)('-5')).toBe(-5);
    for (const v of ['x', '1.5', '1e3', '', '1001']) expect(refusal(intFlag('--priority', -1000, 1000), v, '--priority').fix).toContain('-1000 to 1000');
  });

  it('durationFlag keeps the text, refuses zero when positive, and takes 0 as off when asked', () => {
    expect(durationFlag('--timeout', { positive: true })('30m')).toBe('30m');
    refusal(durationFlag('--timeout', { positive: true }), '0s', '--timeout');
    refusal(durationFlag('--timeout'), '30 minutes', '--timeout');
    expect(durationFlag('--keep-logs', { zeroOff: true })('0')).toBe('0');
    expect(durationMs('0')).toBe(0);
    expect(durationMs('2m')).toBe(120_000);
    expect(durationMs(undefined)).toBeUndefined();
  });

  it('schema flags use the schema\'s rule and show the value', () => {
    expect(schemaFlag('--id', taskIdSchema)('ok-1')).toBe('ok-1');
    const err = refusal(schemaFlag('--id', taskIdSchema), 'Bad', '--id');
    expect(err.message).toContain('"Bad"');
    expect(repeatableFlag('--after', taskIdSchema)('b', ['a'])).toEqual(['a', 'b']);
    refusal((v) => repeatableFlag('--after', taskIdSchema)(v, ['a']), 'B B', '--after');
  });

  it('oneOfFlag lists the accepted values', () => {
    expect(oneOfFlag('--status', ['succeeded', 'failed'])('failed')).toBe('failed');
    expect(refusal(oneOfFlag('--status', ['succeeded', 'failed']), 'ok', '--status').fix).toContain('succeeded, failed');
  });

  it('a handoff problem is reported against the flag that set the field', () => {
    const err = handoffFlagError({ path: 'handoffs/x.md', field: 'after.0', reason: 'the task waits for itself', fix: 'remove it', severity: 'error' }, 'TITLE');
    expect(err.data['flag']).toBe('--after');
    expect(err.message).not.toContain('handoffs/');
    expect(handoffFlagError({ path: 'handoffs/x.md', field: '', reason: 'too big', fix: 'smaller', severity: 'error' }, '--body-file').data['flag']).toBe('--body-file');
  });
});
