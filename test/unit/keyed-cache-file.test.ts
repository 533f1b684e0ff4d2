import { describe, expect, it } from 'vitest';
import { checksum } from '../../bus/store/header-line.js';
import { decodeKeyed, encodeKeyed, jsonExact, type KeyedCacheKind } from '../../bus/store/keyed-cache-file.js';

const kind: KeyedCacheKind = { magic: 'gitbus-test\n', format: 1, maxBytes: 1024, validKey: (k) => /^[a-z]+$/.test(k) };

describe('a keyed cache file', () => {
  it('reads back what was written, for its build, format and kind only', () => {
    const entries = new Map<string, unknown>([['a', { x: 1 }], ['b', { y: [true, null, 'z'] }]]);
    const bytes = encodeKeyed(entries, kind, 'build-1') as Buffer;
    expect(decodeKeyed(bytes, kind, 'build-1')).toEqual(entries);
    expect(decodeKeyed(bytes, kind, 'build-2').size).toBe(0);
    expect(decodeKeyed(bytes, { ...kind, format: 2 }, 'build-1').size).toBe(0);
    expect(decodeKeyed(bytes, { ...kind, magic: 'gitbus-other\n' }, 'build-1').size).toBe(0);
  });

  it('is empty when a key is not of its kind or an entry is no pair of a key and an object', () => {
    for (const payload of [[['A', {}]], [['a', 1]], [['a', {}, 'extra']], [['a']], { a: {} }]) {
      const text = JSON.stringify(payload);
      const bytes = Buffer.from(`gitbus-test\n${JSON.stringify({ format: 1, build: 'b', bytes: Buffer.byteLength(text), checksum: checksumOf(text) })}\n${text}`);
      expect(decodeKeyed(bytes, kind, 'b').size, text).toBe(0);
    }
    // The same frame with a good payload is read: what failed above was the payload.
    const good = JSON.stringify([['a', {}]]);
    expect(decodeKeyed(Buffer.from(`gitbus-test\n${JSON.stringify({ format: 1, build: 'b', bytes: good.length, checksum: checksumOf(good) })}\n${good}`), kind, 'b').size).toBe(1);
  });

  it('is not written over its cap, and a file over it is not read', () => {
    expect(encodeKeyed(new Map([['a', { s: 'x'.repeat(1024) }]]), kind, 'b')).toBeNull();
    const bytes = encodeKeyed(new Map([['a', { s: 'x'.repeat(900) }]]), kind, 'b') as Buffer;
    expect(decodeKeyed(bytes, { ...kind, maxBytes: 100 }, 'b').size).toBe(0);
  });
});

describe('what JSON gives back as it is', () => {
  it('plain objects, arrays, strings, finite numbers, booleans and null', () => {
    expect(jsonExact({ a: [1, 'b', true, null, { c: -1.5 }], d: Object.create(null) as object })).toBe(true);
  });

  it('not YAML\'s .inf and .nan, -0, undefined, dates, maps or class instances', () => {
    for (const v of [Infinity, NaN, -0, undefined, new Date(0), new Map(), new (class X {})(), [1, undefined], { a: undefined }, () => 1, 1n]) {
      expect(jsonExact({ v }), String(v)).toBe(false);
    }
  });
});

function checksumOf(text: string): string {
  return checksum(Buffer.from(text));
}
