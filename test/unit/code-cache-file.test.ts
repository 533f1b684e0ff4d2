import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unwrapCache, wrapCache } from '../../cli/code-cache-file.js';

/** The code cache file (cli/code-cache-file.ts): V8 copies cached data that does not start on an 8-byte boundary. */
describe('code cache file', () => {
  it('puts the V8 data on an 8-byte boundary of the file as read, and gives it back whole', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gitbus-cache-file-'));
    try {
      for (const size of [1, 7, 8, 200_000]) {
        const data = Buffer.alloc(size, size % 251);
        const file = join(dir, `c${size}.bin`);
        writeFileSync(file, wrapCache(data, { failed: size === 7, offPath: size === 8 }));
        const read = readFileSync(file);
        // A file of this size gets a buffer of its own, as the loader's read does.
        expect(read.byteOffset % 8).toBe(0);
        const got = unwrapCache(read);
        expect(got?.data.equals(data)).toBe(true);
        expect(got?.failed).toBe(size === 7);
        expect(got?.offPath).toBe(size === 8);
        expect((got?.data.byteOffset ?? 1) % 8, `${size} bytes`).toBe(0);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a file of the earlier format (a 20-byte header), of another padding, or cut short', () => {
    const data = Buffer.alloc(64, 7);
    const file = wrapCache(data);
    const earlier = Buffer.concat([file.subarray(0, 20), data]);
    earlier.writeUInt32LE(2, 4);
    expect(unwrapCache(earlier)).toBeUndefined();
    const padded = Buffer.from(file);
    padded.writeUInt32LE(1, 20);
    expect(unwrapCache(padded)).toBeUndefined();
    expect(unwrapCache(file.subarray(0, file.length - 1))).toBeUndefined();
    expect(unwrapCache(file)?.data.equals(data)).toBe(true);
  });
});
