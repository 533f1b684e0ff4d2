import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeLooseObject } from '../../bus/git/loose-object.js';
import { ObjectTooLargeError } from '../../bus/local-io.js';
import { looseHeader, MAX_OBJECT_BYTES, readLoose } from '../../bus/store/loose-read.js';
import { openStore } from '../../bus/store/objects.js';

/** A blob of zeros inflates ~1000:1: its size must be known, and refused, without inflating it whole. */
const dir = mkdtempSync(join(tmpdir(), 'gitbus-loose-'));
// A repository's objects folder: writing an object makes only its fan-out folder (bus/git/loose-object.ts).
fs.mkdirSync(join(dir, 'objects'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('reading loose objects with a size cap', () => {
  it('a blob over the cap is not read whole: a placeholder of cap + 1 bytes stands for it', async () => {
    const oid = await writeLooseObject(fs, dir, 'blob', Buffer.alloc(20 * 1024 * 1024));
    const r = await readLoose(dir, oid, 16 * 1024);
    expect(r?.type).toBe('blob');
    expect(r?.content.length).toBe(16 * 1024 + 1);
    expect((await openStore(dir).readBlob(oid, 16 * 1024)).length).toBe(16 * 1024 + 1);
    // Without a cap it is still read (under MAX_OBJECT_BYTES).
    expect((await readLoose(dir, oid))?.content.length).toBe(20 * 1024 * 1024);
  });

  it('a small blob under the cap is read as it is', async () => {
    const oid = await writeLooseObject(fs, dir, 'blob', Buffer.from('-----BEGIN SSH SIGNATURE-----\n'));
    expect((await readLoose(dir, oid, 16 * 1024))?.content.toString()).toBe('-----BEGIN SSH SIGNATURE-----\n');
  });

  it('an object over MAX_OBJECT_BYTES is refused by name (OBJECT_TOO_LARGE), never inflated', async () => {
    const oid = await writeLooseObject(fs, dir, 'blob', Buffer.alloc(MAX_OBJECT_BYTES + 1));
    const raw = fs.readFileSync(join(dir, 'objects', oid.slice(0, 2), oid.slice(2)));
    expect(looseHeader(raw)).toEqual({ type: 'blob', size: MAX_OBJECT_BYTES + 1, headerBytes: `blob ${MAX_OBJECT_BYTES + 1}\0`.length });
    const err = await readLoose(dir, oid).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ObjectTooLargeError);
    expect((err as ObjectTooLargeError).message).toContain(oid);
    // With a cap, it is simply too large for the caller.
    expect((await readLoose(dir, oid, 16 * 1024))?.content.length).toBe(16 * 1024 + 1);
  });
});
