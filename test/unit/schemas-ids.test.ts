import { describe, it, expect } from 'vitest';
import {
  ID_ALPHABET,
  InvalidIdError,
  isAttempt,
  isLabel,
  isNodeName,
  isTaskId,
  MAX_ATTEMPT,
  newTaskId,
  parseAttempt,
} from '../../schemas/ids.js';
import { mathRandomBytes, mathRandomHex } from '../../schemas/math-random.js';

/** A deterministic random source: byte i of every call is `start + i`. */
const counting =
  (start = 0) =>
  (n: number): Uint8Array =>
    Uint8Array.from({ length: n }, (_, i) => (start + i) & 0xff);

describe('task ids', () => {
  it('have the form YYYYMMDD-HHMMSS-rrrrrr in UTC', () => {
    const id = newTaskId(new Date('2026-11-21T04:29:33.412Z'), counting(10));
    expect(id).toMatch(/^20261121-042933-[0-9a-hjkmnp-tv-z]{6}$/);
    expect(id).toBe('20261121-042933-abcdef');
    expect(isTaskId(id)).toBe(true);
  });

  it('use UTC even for times written with an offset', () => {
    expect(newTaskId(new Date('2026-01-01T00:30:00+02:00'), counting())).toMatch(/^20251231-223000-/);
  });

  it('sort by time', () => {
    const times = ['2025-12-31T23:59:59Z', '2026-01-01T00:00:00Z', '2026-01-01T00:00:01Z', '2026-02-10T09:08:07Z', '2031-07-04T12:00:00Z'];
    const ids = times.map((t, i) => newTaskId(new Date(t), counting(250 - i * 40)));
    expect([...ids].sort()).toEqual(ids);
  });

  it('draw the random part from the 32-character alphabet, every symbol equally', () => {
    expect(ID_ALPHABET).toBe('0123456789abcdefghjkmnpqrstvwxyz');
    expect(new Set(ID_ALPHABET).size).toBe(32);
    const seen = new Set<string>();
    for (let start = 0; start < 256; start += 6) {
      for (const ch of newTaskId(new Date('2026-11-21T00:00:00Z'), counting(start)).slice(-6)) seen.add(ch);
    }
    expect([...seen].sort().join('')).toBe([...ID_ALPHABET].sort().join(''));
    // Bytes 32 apart give the same symbol: the low five bits choose it.
    expect(newTaskId(new Date(0), () => new Uint8Array([0, 32, 64, 96, 128, 255]))).toBe('19700101-000000-00000z');
  });

  it('never contain look-alike letters i, l, o, u', () => {
    expect(ID_ALPHABET).not.toMatch(/[ilou]/);
  });

  it('refuse a short random source or an invalid date', () => {
    expect(() => newTaskId(new Date(), () => new Uint8Array(3))).toThrow(InvalidIdError);
    expect(() => newTaskId(new Date(Number.NaN), counting())).toThrow(/cannot make a task id/);
    try {
      newTaskId(new Date(), () => new Uint8Array(0));
    } catch (err) {
      expect((err as InvalidIdError).code).toBe('INVALID_ID');
    }
  });

  it('uses the current time by default', () => {
    const before = new Date();
    const id = newTaskId(undefined, counting());
    const stamp = (d: Date): string => d.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
    expect(id.slice(0, 15) >= stamp(before)).toBe(true);
  });

  it("with gitbus's random source (Math.random), spread over the whole alphabet and all distinct", () => {
    const now = new Date('2026-11-21T04:29:33Z');
    const ids = Array.from({ length: 4000 }, () => newTaskId(now, mathRandomBytes));
    for (const id of ids) expect(isTaskId(id) && id.startsWith('20261121-042933-')).toBe(true);
    // 100 draws of 30 bits: a repeat has odds of ~1 in 200,000.
    expect(new Set(ids.slice(0, 100)).size).toBe(100);
    const counts = new Map<string, number>();
    for (const id of ids) for (const ch of id.slice(-6)) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    // 24,000 symbols, 750 of each expected: every one is drawn, none far from its share.
    expect(counts.size).toBe(32);
    for (const n of counts.values()) expect(n > 600 && n < 900).toBe(true);
  });
});

describe('Math.random for names (schemas/math-random.ts)', () => {
  it('gives bytes and lowercase hex of the length asked', () => {
    expect(mathRandomBytes(0)).toEqual(new Uint8Array(0));
    expect(mathRandomBytes(6)).toHaveLength(6);
    for (let i = 0; i < 100; i++) expect(mathRandomHex(4)).toMatch(/^[0-9a-f]{8}$/);
    expect(mathRandomHex(6)).toMatch(/^[0-9a-f]{12}$/);
    expect(new Set(Array.from({ length: 100 }, () => mathRandomHex(4))).size).toBe(100);
  });
});

describe('id rules', () => {
  it.each([
    ['20261121-042933-k3f9qx', true],
    ['a', true],
    ['0', true],
    ['a_b-c', true],
    ['a'.repeat(64), true],
    ['a'.repeat(65), false],
    ['', false],
    ['-a', false],
    ['_a', false],
    ['A', false],
    ['a.b', false],
    ['a/b', false],
    ['..', false],
    ['a b', false],
    ['tаsk', false], // Cyrillic а
    ['a\n', false],
  ])('task id %j → %s', (id, ok) => {
    expect(isTaskId(id)).toBe(ok);
  });

  it('node names are at most 40 characters; labels also allow "." and ":"', () => {
    expect(isNodeName('gpu-box')).toBe(true);
    expect(isNodeName('n'.repeat(40))).toBe(true);
    expect(isNodeName('n'.repeat(41))).toBe(false);
    expect(isNodeName('os:linux')).toBe(false);
    expect(isLabel('os:linux')).toBe(true);
    expect(isLabel('cuda.12')).toBe(true);
    expect(isLabel('GPU')).toBe(false);
    expect(isLabel(':x')).toBe(false);
    expect(isTaskId(42)).toBe(false);
  });

  it('attempts are 1..MAX_ATTEMPT, without leading zeros in names', () => {
    expect(parseAttempt('1')).toBe(1);
    expect(parseAttempt('12')).toBe(12);
    expect(parseAttempt(String(MAX_ATTEMPT))).toBe(MAX_ATTEMPT);
    for (const bad of ['0', '01', '-1', '+1', '1.0', '1e3', '', ' 1', String(MAX_ATTEMPT + 1), '99999999999999999999']) {
      expect(parseAttempt(bad)).toBeUndefined();
    }
    expect(isAttempt(1)).toBe(true);
    expect(isAttempt(0)).toBe(false);
    expect(isAttempt(1.5)).toBe(false);
    expect(isAttempt('1')).toBe(false);
  });
});
