import { describe, expect, it } from 'vitest';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { crc32, crc32Here } from '../../schemas/crc32.js';

/** crc32 without node:zlib for small inputs (schemas/crc32.ts): the same number as zlib's for every input. */
describe('crc32', () => {
  it("is zlib's for bytes of every length up to 4 KiB, for large bytes and for strings (their UTF-8)", () => {
    let s = 7;
    const next = (): number => (s = (Math.imul(s, 1_103_515_245) + 12_345) >>> 0) >>> 24;
    for (let n = 0; n <= 4096; n++) {
      const b = Buffer.alloc(n);
      for (let i = 0; i < n; i++) b[i] = next();
      expect(crc32Here(b), `${n} bytes`).toBe(zlibCrc32(b));
      expect(crc32(b)).toBe(zlibCrc32(b));
    }
    const large = Buffer.alloc(200_000, 0xa5);
    expect(crc32(large)).toBe(zlibCrc32(large));
    expect(crc32Here(large)).toBe(zlibCrc32(large));
    for (const text of ['', 'gitbus', '--max-http-header-size=16001\0--require=x', 'caf\u00e9 \u2713 \u{1f680}']) expect(crc32(text), text).toBe(zlibCrc32(text));
  });
});
