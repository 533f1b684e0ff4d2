import { afterAll, describe, expect, it } from 'vitest';
import { chmodSync, closeSync, existsSync, fstatSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync, type PathLike } from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheFolders, readyFolders, type CacheFolders } from '../../cli/code-cache-folders.js';
import { cachePlace, keyName, readCache, readInto, settleCache, writeCache } from '../../cli/code-cache-store.js';

const load = createRequire(import.meta.url);

/** Where the loader reads a command's code cache from (cli/code-cache-store.ts). */
describe('code cache store', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gitbus-cache-store-'));
  chmodSync(dir, 0o700);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const env = { XDG_CACHE_HOME: dir };

  const placeFor = (command: string) => {
    const folders = cacheFolders(env) as CacheFolders;
    expect(readyFolders(folders, [folders.root, folders.keys])).toBeUndefined();
    return cachePlace(folders, 'build-1', command, env);
  };

  it('puts a cache file on the disk before it has its name and its .checked (a start takes a checked file unsummed)', () => {
    const place = placeFor('durable');
    expect(readCache(place).state).toBe('none');
    const seen: string[] = [];
    const fs = load('node:fs') as typeof import('node:fs');
    const real = { fsyncSync: fs.fsyncSync, renameSync: fs.renameSync };
    fs.fsyncSync = (fd: number) => {
      seen.push(`fsync ${fstatSync(fd).size}`);
      real.fsyncSync(fd);
    };
    fs.renameSync = (from: PathLike, to: PathLike) => {
      seen.push(`rename ${String(to).slice(place.dir.length + 1)}`);
      real.renameSync(from, to);
    };
    syncBuiltinESMExports();
    try {
      expect(writeCache(place, Buffer.alloc(5000, 7), {})).toBe(true);
    } finally {
      Object.assign(fs, real);
      syncBuiltinESMExports();
    }
    const name = place.file.slice(place.dir.length + 1);
    expect(seen).toEqual([`fsync ${5000 + 24}`, `rename ${name}`, `rename ${name}.checked`]);
  });

  it('writes a cache file on a file system that cannot fsync, without its .checked: the next start sums it', () => {
    const place = placeFor('no-fsync');
    expect(readCache(place).state).toBe('none');
    const fs = load('node:fs') as typeof import('node:fs');
    const real = fs.fsyncSync;
    fs.fsyncSync = () => {
      throw Object.assign(new Error('EINVAL: invalid argument, fsync'), { code: 'EINVAL' });
    };
    syncBuiltinESMExports();
    try {
      expect(writeCache(place, Buffer.alloc(5000, 7), {})).toBe(true);
    } finally {
      fs.fsyncSync = real;
      syncBuiltinESMExports();
    }
    expect(existsSync(place.file)).toBe(true);
    expect(existsSync(`${place.file}.checked`)).toBe(false);
    expect(readCache(place)).toMatchObject({ state: 'found', failed: false, offPath: false });
    expect(existsSync(`${place.file}.checked`)).toBe(true);
  });

  it("names a key folder by the build's identity, and by a 64-bit checksum of it and its length when that is too long for a file name", () => {
    const short = '659714-dncvbndx6ecq-dncvbndx6ecq-2kebb+537862-dncvbne9wcdd-dncvbne9wcdd-2ken7';
    expect(keyName(short)).toBe(`${process.version}-${process.arch}-${short}`);
    // Eight bundles of ~40 characters each: 330 characters, more than a file name may have.
    const long = Array.from({ length: 8 }, (_, i) => `${659714 + i}-dncvbndx6ecq-dncvbndx6ecq-2keb${i}`).join('+');
    const name = keyName(long);
    expect(name).toMatch(new RegExp(`^${process.version.replace(/\./g, '\\.')}-${process.arch}-[0-9a-f]{16}-${long.length}$`));
    expect(name.length).toBeLessThanOrEqual(200);
    // Any change of a file's identity is another key.
    expect(keyName(long.replace('2keb3', '2keb4'))).not.toBe(name);
    expect(keyName(long)).toBe(name);
    // Two identities of one length that differ in one character, at the start, the middle and the end, are two keys.
    const head = 'dist/cli/gitbus.cjs:1234-1700000000000000000-1700000000000000000-12345;'.repeat(3);
    for (const at of [0, head.length >> 1, head.length - 1]) expect(keyName(`${head.slice(0, at)}X${head.slice(at + 1)}`), `at ${at}`).not.toBe(keyName(head));
    // And a place there can be made and written.
    const folders = cacheFolders(env) as CacheFolders;
    expect(readyFolders(folders, [folders.root, folders.keys])).toBeUndefined();
    const place = cachePlace(folders, long, 'dispatch', env);
    expect(place.dir.endsWith(name)).toBe(true);
    expect(readCache(place).state).toBe('none');
    expect(writeCache(place, Buffer.alloc(64, 7), {})).toBe(true);
    expect(readCache(place).state).toBe('found');
  });

  it('reads the cache into the room the bundle was read into when it fits there, else into a buffer of its own', () => {
    const place = placeFor('dispatch');
    expect(readCache(place).state).toBe('none');
    const data = Buffer.alloc(100_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31) % 256;
    expect(writeCache(place, data, {})).toBe(true);

    // The room: memory that the bundle's read touched already (cli/code-cache.ts readBundle).
    const room = Buffer.allocUnsafeSlow(200_000).fill(1);
    const inRoom = readCache(place, room);
    expect(inRoom.state).toBe('found');
    if (inRoom.state !== 'found') return;
    expect(inRoom.data.equals(data)).toBe(true);
    expect(inRoom.data.buffer).toBe(room.buffer);
    // Where V8 takes it without a copy (cli/code-cache-file.ts).
    expect(inRoom.data.byteOffset % 8).toBe(0);

    const small = Buffer.allocUnsafeSlow(50_000);
    const own = readCache(place, small);
    expect(own.state).toBe('found');
    if (own.state !== 'found') return;
    expect(own.data.equals(data)).toBe(true);
    expect(own.data.buffer).not.toBe(small.buffer);

    // Without a room, as the schemas script reads its own.
    const alone = readCache(place);
    expect(alone.state === 'found' && alone.data.equals(data)).toBe(true);
  });

  it('a damaged file read into the room is refused as before', () => {
    const place = placeFor('status');
    readCache(place);
    expect(writeCache(place, Buffer.alloc(4_000, 9), {})).toBe(true);
    const fd = openSync(place.file, 'r+');
    try {
      writeFileSync(fd, Buffer.from([0, 0, 0, 0]));
    } finally {
      closeSync(fd);
    }
    expect(readCache(place, Buffer.allocUnsafeSlow(1 << 20)).state).toBe('corrupt');
  });

  it('sums a file against its checksum once: a later read of the same file takes it without the sum, a changed file is summed again', () => {
    const place = placeFor('claim');
    readCache(place);
    const data = Buffer.alloc(4_000, 5);
    expect(writeCache(place, data, {})).toBe(true);
    // The file as written is checked: its bytes are the ones summed for its header.
    const st = statSync(place.file, { bigint: true });
    const identity = `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
    expect(readFileSync(`${place.file}.checked`, 'latin1')).toBe(identity);
    // A start that finds no .checked (a file of an older gitbus) sums it and writes one.
    rmSync(`${place.file}.checked`);
    const first = readCache(place);
    expect(first.state).toBe('found');
    expect(readFileSync(`${place.file}.checked`, 'latin1')).toBe(identity);

    // The header's checksum made wrong, the data left as it was: the file changed, so it is summed, and refused.
    const fd = openSync(place.file, 'r+');
    try {
      writeSync(fd, Buffer.from([1, 2, 3, 4]), 0, 4, 8);
    } finally {
      closeSync(fd);
    }
    expect(readCache(place).state).toBe('corrupt');
    // Were its identity the one checked (nothing but a byte changed on the disk under it), it would be taken unsummed:
    // what the sum costs, once per file, is what this trades (cli/code-cache-store.ts readChecked).
    const now = statSync(place.file, { bigint: true });
    writeFileSync(`${place.file}.checked`, `${now.dev}:${now.ino}:${now.size}:${now.mtimeNs}:${now.ctimeNs}`);
    const taken = readCache(place);
    expect(taken.state === 'found' && taken.data.equals(data)).toBe(true);
  });

  it('a file of other Node options used by a run stays checked after its time is set, unless it changed during the run', () => {
    const folders = cacheFolders(env) as CacheFolders;
    const place = cachePlace(folders, 'build-3', 'status', { ...env, NODE_OPTIONS: '--max-http-header-size=17000' });
    expect(place.variant).toBe(true);
    readCache(place);
    expect(writeCache(place, Buffer.alloc(4_000, 5), {})).toBe(true);
    const identity = (): string => {
      const st = statSync(place.file, { bigint: true });
      return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
    };
    // A run that used it: summed at its start, its time set at its exit (pruning keeps the files used last), and
    // its .checked names the file as the touch left it.
    const used = readCache(place);
    expect(used.state).toBe('found');
    const before = identity();
    settleCache(place, used, false, true, {}, () => Buffer.alloc(1));
    expect(identity()).not.toBe(before);
    expect(readFileSync(`${place.file}.checked`, 'latin1')).toBe(identity());
    // Two runs of the same options at once: both read it, both set its time; the second finds it checked by the first.
    const a = readCache(place);
    const b = readCache(place);
    settleCache(place, a, false, true, {}, () => Buffer.alloc(1));
    settleCache(place, b, false, true, {}, () => Buffer.alloc(1));
    expect(readFileSync(`${place.file}.checked`, 'latin1')).toBe(identity());
    // A run during which the file's bytes were changed: its exit does not call the changed file checked.
    const run = readCache(place);
    const fd = openSync(place.file, 'r+');
    try {
      writeSync(fd, Buffer.from('DAMAGED'), 0, 7, 100);
    } finally {
      closeSync(fd);
    }
    settleCache(place, run, false, true, {}, () => Buffer.alloc(1));
    expect(readFileSync(`${place.file}.checked`, 'latin1')).not.toBe(identity());
    expect(readCache(place).state).toBe('corrupt');
  });

  it("a pruned file of other Node options takes its .checked with it", () => {
    const folders = cacheFolders(env) as CacheFolders;
    const variant = (i: number) => cachePlace(folders, 'build-2', 'show', { ...env, NODE_OPTIONS: `--max-http-header-size=${16_000 + i}` });
    readCache(variant(0));
    expect(writeCache(variant(0), Buffer.alloc(64, 1), {})).toBe(true);
    expect(existsSync(`${variant(0).file}.checked`)).toBe(true);
    // Four more written after it: the oldest goes (a command keeps 4 files for other options).
    for (let i = 1; i <= 4; i++) expect(writeCache(variant(i), Buffer.alloc(64, 1), {})).toBe(true);
    expect(existsSync(variant(0).file)).toBe(false);
    expect(existsSync(`${variant(0).file}.checked`)).toBe(false);
  });

  it("rewrites a failed run's cache at the next run that succeeds, and an off-path run's at the next plain one that does, once", () => {
    const place = placeFor('marks');
    /** Whether a run of these marks, finding the cache `before` wrote, writes it again; the cache then is the run's. */
    const rewrites = (before: { failed?: boolean; offPath?: boolean }, run: { failed?: boolean; offPath?: boolean }): boolean => {
      expect(writeCache(place, Buffer.alloc(64, 3), before)).toBe(true);
      const found = readCache(place);
      expect(found).toMatchObject({ state: 'found', failed: before.failed === true, offPath: before.offPath === true });
      const written = settleCache(place, found, false, true, run, () => Buffer.alloc(64, 4));
      if (written) expect(readCache(place)).toMatchObject({ failed: run.failed === true, offPath: run.offPath === true });
      return written;
    };
    expect(rewrites({ failed: true }, {})).toBe(true);
    // Any run that succeeds replaces a failed run's cache, a plain one or not: a node whose every run is off the plain
    // path (a pinned trust root reads the schemas script at every run) would otherwise keep the failed run's for good.
    expect(rewrites({ failed: true }, { offPath: true })).toBe(true);
    expect(rewrites({ failed: true }, { failed: true })).toBe(false);
    expect(rewrites({ offPath: true }, {})).toBe(true);
    expect(rewrites({ offPath: true }, { offPath: true })).toBe(false);
    expect(rewrites({ offPath: true }, { failed: true })).toBe(false);
    expect(rewrites({}, { offPath: true })).toBe(false);
    expect(rewrites({}, { failed: true })).toBe(false);
    expect(rewrites({}, {})).toBe(false);
  });

  it('readInto reads the whole file in as many reads as it takes, and no more than it holds', () => {
    const file = join(dir, 'some.bin');
    const bytes = Buffer.alloc(70_000, 3);
    writeFileSync(file, bytes);
    const into = Buffer.alloc(100_000, 0);
    const fd = openSync(file, 'r');
    try {
      expect(readInto(fd, into, 70_000)).toBe(70_000);
      expect(into.subarray(0, 70_000).equals(bytes)).toBe(true);
      expect(into[70_000]).toBe(0);
      // A file that shrank since its size was taken: what is there.
      expect(readInto(fd, into, 90_000)).toBe(70_000);
    } finally {
      closeSync(fd);
    }
  });
});
