import { describe, it, expect } from 'vitest';
import { createRequire } from 'node:module';
import { cronRangeProblem, isCronExpression } from '../../schemas/cron.js';
import { formatDuration, InvalidDurationError, parseDuration, tryParseDuration } from '../../schemas/duration.js';
import { editDistance, nearestName } from '../../schemas/suggest.js';
import { formatTimestamp, instantMs, isTimestamp, timestampMs } from '../../schemas/timestamp.js';
import { archiveMonthAt, endedAt } from '../../bus/ops/archive.js';

describe('durations', () => {
  it.each([
    ['500ms', 500],
    ['0s', 0],
    ['0ms', 0],
    ['90s', 90_000],
    ['5m', 300_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    ['36500d', 36_500 * 86_400_000],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '5', 'm', '5 m', ' 5m', '5m ', '-5m', '+5m', '1.5h', '5M', '5min', '1w', '05m', '0x10s', '1e3ms', '5m30s', '999999999999999d'])(
    'rejects %j with a clear error',
    (text) => {
      expect(tryParseDuration(text)).toBeUndefined();
      expect(() => parseDuration(text)).toThrow(InvalidDurationError);
      expect(() => parseDuration(text)).toThrow(/is not a duration[\s\S]*fix: write a duration: a whole number followed by ms, s, m, h or d/);
    },
  );

  it('says why when it can', () => {
    expect(() => parseDuration('5M')).toThrow(/units are lower case/);
    expect(() => parseDuration(' 5m')).toThrow(/surrounding spaces/);
    expect(() => parseDuration('999999999999999d')).toThrow(/too long/);
    try {
      parseDuration('x');
    } catch (err) {
      expect((err as InvalidDurationError).code).toBe('INVALID_DURATION');
      expect((err as InvalidDurationError).data).toEqual({ text: 'x' });
    }
  });

  it('formats with the largest exact unit, and round-trips', () => {
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(500)).toBe('500ms');
    expect(formatDuration(1500)).toBe('1500ms');
    expect(formatDuration(90_000)).toBe('90s');
    expect(formatDuration(300_000)).toBe('5m');
    expect(formatDuration(7_200_000)).toBe('2h');
    expect(formatDuration(86_400_000)).toBe('1d');
    for (const ms of [1, 999, 1000, 61_000, 3_600_000, 90_000_000, 172_800_000]) expect(parseDuration(formatDuration(ms))).toBe(ms);
    expect(() => formatDuration(-1)).toThrow(InvalidDurationError);
    expect(() => formatDuration(1.5)).toThrow(InvalidDurationError);
    expect(() => formatDuration(Number.NaN)).toThrow(InvalidDurationError);
  });
});

describe('timestamps', () => {
  it.each([
    '2026-11-21T04:29:33Z',
    '2026-11-21T04:29:33.412Z',
    '2026-11-21T04:29:33.123456789Z',
    '2026-11-21T05:29:33+01:00',
    '2026-11-20T23:29:33-05:00',
    '2026-11-21t04:29:33z',
    '2024-02-29T00:00:00Z',
    '2016-12-31T23:59:60Z',
    '2016-12-31T23:59:60.5Z',
    '2017-01-01T00:59:60+01:00',
    '2016-12-31T18:29:60-05:30',
  ])('accepts %s', (t) => {
    expect(isTimestamp(t)).toBe(true);
  });

  it.each([
    '2026-11-21',
    '2026-11-21T04:29:33',
    '2026-11-21 04:29:33Z',
    '2026-13-01T00:00:00Z',
    '2026-02-29T00:00:00Z',
    '2026-04-31T00:00:00Z',
    '2026-11-21T24:00:00Z',
    '2026-11-21T04:60:00Z',
    '2026-11-21T04:29:33+24:00',
    '2026-11-21T04:29:33+0100',
    '26-11-21T04:29:33Z',
    'yesterday',
    '',
    '2026-11-21T04:29:33.Z',
    // A leap second is only at 23:59 UTC (RFC 3339, and JSON Schema's date-time as MCP clients check it).
    '2026-12-02T10:00:60Z',
    '2016-12-31T23:59:60+01:00',
    '2016-12-31T23:58:60Z',
    // A zone that carries the time out of years 0000-9999 in UTC: no archive month names it.
    '0000-01-01T00:30:00+01:00',
    '9999-12-31T23:30:00-01:00',
  ])('rejects %j', (t) => {
    expect(isTimestamp(t)).toBe(false);
  });

  it('converts to epoch milliseconds with the zone applied', () => {
    expect(timestampMs('2026-11-21T05:29:33.412+01:00')).toBe(Date.parse('2026-11-21T04:29:33.412Z'));
    expect(timestampMs('2026-11-21T04:29:33.4129Z')).toBe(Date.parse('2026-11-21T04:29:33.412Z'));
    expect(timestampMs('0099-01-01T00:00:00Z')).toBe(Date.parse('0099-01-01T00:00:00Z'));
    // The first and last instants of years 0000-9999, whatever the zone written.
    expect(timestampMs('0000-01-01T01:00:00+01:00')).toBe(Date.parse('0000-01-01T00:00:00Z'));
    expect(timestampMs('9999-12-31T22:59:59.999-01:00')).toBe(Date.parse('9999-12-31T23:59:59.999Z'));
    expect(formatTimestamp(new Date(0))).toBe('1970-01-01T00:00:00.000Z');
    expect(isTimestamp(formatTimestamp(new Date()))).toBe(true);
  });

  it('reads a leap second, which the rule allows and Date.parse refuses, as the instant after it, for every comparison', () => {
    expect(Number.isNaN(Date.parse('2025-12-31T23:59:60Z'))).toBe(true);
    expect(instantMs('2025-12-31T23:59:60Z')).toBe(Date.parse('2026-01-01T00:00:00Z'));
    expect(instantMs('2026-11-21T05:29:33.412+01:00')).toBe(Date.parse('2026-11-21T04:29:33.412Z'));
    // What an older gitbus may have written, outside the rule, still reads as Date.parse reads it.
    expect(instantMs('2026-11-21 04:29:33Z')).toBe(Date.parse('2026-11-21 04:29:33Z'));
    expect(instantMs('garbage')).toBeNaN();
    // A task that ended in a leap second is archived by that instant, not in the month it was archived in.
    const view = { response: { finished: '2025-12-31T23:59:60Z' } } as unknown as Parameters<typeof endedAt>[0];
    expect(archiveMonthAt(endedAt(view) ?? Number.NaN)).toBe('2026-01');
  });
});

describe('cron expressions', () => {
  it.each(['* * * * *', '0 3 * * mon-fri', '*/15 0-6,22-23 1 jan,JUL sun', '30 2 1-31/2 * *'])('accepts %j', (c) => {
    expect(isCronExpression(c)).toBe(true);
  });

  // Six fields (seconds first) the scheduler takes, and gitbus does not: a schedule is to the minute.
  it.each(['* * *', '* * * * * *', '0 0 3 * * *', '*/2 * * * * *', '* * * * * * *', '@daily', '0 3 * * funday', '0 3 * * mon;rm -rf /', '0 3 * * $(id)', '', '* * * * ?', ' * * * * *', 'x'.repeat(300)])(
    'rejects %j',
    (c) => {
      expect(isCronExpression(c)).toBe(false);
    },
  );
});

describe('cron values', () => {
  it.each([
    ['99 99 * * *', 'the minute 99 is out of range 0-59'],
    ['0 24 * * *', 'the hour 24 is out of range 0-23'],
    ['0 3 0 * *', 'the day of month 0 is out of range 1-31'],
    ['0 3 * 13 *', 'the month 13 is out of range 1-12'],
    ['0 3 * * 8', 'the day of week 8 is out of range 0-7'],
    ['*/0 * * * *', 'the minute field "*/0" has a step of zero'],
    ['5-1 * * * *', 'the minute range "5-1" runs backwards'],
    ['0 3 * * fri-mon', 'the day of week range "fri-mon" runs backwards'],
  ])('refuses %j: %s', (c, reason) => {
    expect(cronRangeProblem(c)).toBe(reason);
    expect(isCronExpression(c)).toBe(false);
  });

  // The schema must refuse exactly what the scheduler cannot evaluate: a schedule it accepted would otherwise sit
  // "scheduled" forever with no problem reported (bus/ops/schedule.ts skips what cron throws on).
  it('agrees with the scheduler (npm cron) on every line of the right shape', () => {
    const lines = [
      '99 99 * * *', '0 3 * * mon-fri', '0 3 * * 7', '0 3 * * 0-7', '0 3 * * fri-mon', '0 3 * jan-dec *', '0 3 * * jan', '0 3 32 * *', '0 3 0 * *',
      '0 24 * * *', '60 3 * * *', '0 3 * 13 *', '0 3 * 0 *', '*/0 * * * *', '5-1 * * * *', '0 0 3 * * *', '61 0 3 * * *', '0 3 * * 8', '1-5/2 * * * *',
      '*/60 * * * *', '0 3 31 2 *', '0 0 0 * * *', '59 23 31 12 7', '0-59/5 0-23 1-31 1-12 0-7', '0 0 1 dec-jan *', '0 0 * * sun-sat', '0,30 9-17/2 * * 1-5',
    ];
    const cron = createRequire(import.meta.url)('cron') as { CronTime: new (expr: string, zone: string) => unknown };
    for (const line of lines) {
      let evaluates = true;
      try {
        new cron.CronTime(line, 'UTC');
      } catch {
        evaluates = false;
      }
      // Six fields the scheduler evaluates (seconds first), and gitbus refuses them all.
      expect(isCronExpression(line), line).toBe(evaluates && line.trim().split(/\s+/).length === 5);
    }
  });
});

describe('suggestions', () => {
  it('counts a swap of neighbours as one edit', () => {
    expect(editDistance('lables', 'labels')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });

  it('suggests the nearest known name, or none', () => {
    const known = ['title', 'labels', 'priority', 'timeout', 'to'];
    expect(nearestName('lables', known)).toBe('labels');
    expect(nearestName('Title', known)).toBe('title');
    expect(nearestName('tittle', known)).toBe('title');
    expect(nearestName('prio', known)).toBe('priority');
    expect(nearestName('budget', ['model', 'permissionMode', 'maxBudgetUsd', 'maxTurns'])).toBe('maxBudgetUsd');
    expect(nearestName('permissions', ['model', 'permissionMode', 'maxBudgetUsd'])).toBe('permissionMode');
    // A word two names share says nothing.
    expect(nearestName('turns', ['maxTurns', 'minTurns'])).toBeUndefined();
    expect(nearestName('zzzzzz', known)).toBeUndefined();
    expect(nearestName('x', known)).toBeUndefined();
  });
});

describe('enum fields', () => {
  it('name their values: node.yaml env apply: automatic says auto or manual, and a described enum adds the values its words leave out', async () => {
    const { nodeConfigSchema } = await import('../../bus/home.js');
    const { problemsFromIssues } = await import('../../schemas/field-problems.js');
    const { describeSchema } = await import('../../schemas/schema-walk.js');
    const { z } = await import('../../schemas/zod.js');
    const config = { node: 'a', remote: '/tmp/r', env: [{ profile: 'claude', apply: 'automatic' }] };
    const r = nodeConfigSchema.safeParse(config);
    expect(r.success).toBe(false);
    const problems = r.success ? [] : problemsFromIssues('node.yaml', nodeConfigSchema, r.error.issues).filter((p) => p.field === 'env.0.apply');
    expect(problems).toEqual([expect.objectContaining({ reason: expect.stringMatching(/expected one of auto, manual, got/), fix: expect.stringMatching(/one of auto, manual/) })]);
    expect(describeSchema(z.enum(['x', 'y']).register(z.globalRegistry, { description: 'a letter' }))).toBe('a letter (one of x, y)');
    expect(describeSchema(z.enum(['x', 'y']).register(z.globalRegistry, { description: 'x or y' }))).toBe('x or y');
  });
});
