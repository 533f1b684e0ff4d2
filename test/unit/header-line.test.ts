import { describe, expect, it } from 'vitest';
import { checksum } from '../../bus/store/header-line.js';
import { adler32Js } from '../../bus/git/zlib-stored.js';
import { sum32 } from '../../schemas/sum32.js';
import { prng } from '../helpers/seeded-random.js';

/** The checksum of the node's cache files (parse cache, status digests, keyed caches): it finds damage, nothing more. */
describe('a cache file payload checksum', () => {
  const rand = prng(58);
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(rand() * 256)));

  it('is sum32 below 64 KiB and adler32 from there (no node:zlib for a big parse cache), eight hex digits', () => {
    const small = bytes(1000);
    expect(checksum(small)).toBe(sum32(small).toString(16).padStart(8, '0'));
    const big = bytes(200_000);
    expect(checksum(big)).toBe(adler32Js(big).toString(16).padStart(8, '0'));
    expect(checksum(big)).toMatch(/^[0-9a-f]{8}$/);
  });

  it('changes when a big payload has a byte changed, or is cut short', () => {
    const big = bytes(100_000);
    const sum = checksum(big);
    for (const at of [0, 1, 65_535, 65_536, 99_999]) {
      const changed = Buffer.from(big);
      changed[at] = ((changed[at] as number) + 1) & 255;
      expect(checksum(changed), `byte ${at}`).not.toBe(sum);
    }
    expect(checksum(big.subarray(0, 99_000))).not.toBe(sum);
  });
});
