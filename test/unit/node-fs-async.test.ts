import { describe, it, expect } from 'vitest';
import * as fsp from 'node:fs/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as mine from '../../bus/node-fs-async.js';

/** bus/node-fs-async.ts makes node:fs/promises's functions from node:fs's callbacks (issue 14): they must settle alike. */
describe('bus/node-fs-async', () => {
  /** A settled call as plain data: a Stats object by what it says, an error by its code, call and message. */
  const outcome = async (p: Promise<unknown>): Promise<unknown> =>
    p.then(
      (value) => ({ value: statsOrValue(value) }),
      (err: NodeJS.ErrnoException) => ({ code: err.code, syscall: err.syscall, errno: err.errno, message: err.message }),
    );
  const statsOrValue = (value: unknown): unknown => {
    if (typeof value !== 'object' || value === null || !('isFile' in value) || !('size' in value)) return value;
    const { size } = value as { size: number | bigint };
    return { file: (value as { isFile(): boolean }).isFile(), size: String(size), bigint: typeof size === 'bigint' };
  };

  it('resolves and rejects as node:fs/promises does, with the same values and errors', async () => {
    const promised: string[] = [];
    const callbacks: string[] = [];
    const dir = mkdtempSync(join(tmpdir(), 'gitbus-fs-async-'));
    try {
      for (const [name, impl] of [['promises', fsp], ['callbacks', mine]] as const) {
        const at = join(dir, name);
        const seen: unknown[] = [];
        seen.push(await outcome(impl.mkdir(join(at, 'a', 'b'), { recursive: true })));
        seen.push(await outcome(impl.mkdir(join(at, 'a'))));
        seen.push(await outcome(impl.writeFile(join(at, 'a', 'f'), 'one\n')));
        seen.push(await outcome(impl.appendFile(join(at, 'a', 'f'), 'two\n')));
        seen.push(await outcome(impl.readFile(join(at, 'a', 'f'), 'utf8')));
        seen.push(await outcome(impl.readFile(join(at, 'a', 'f')).then((b) => b.toString('hex'))));
        seen.push(await outcome(impl.readFile(join(at, 'missing'), 'utf8')));
        seen.push(await outcome(impl.stat(join(at, 'a', 'f'))));
        seen.push(await outcome(impl.stat(join(at, 'a', 'f'), { bigint: true })));
        seen.push(await outcome(impl.lstat(join(at, 'missing'))));
        seen.push(await outcome(impl.readdir(join(at, 'a'))));
        seen.push(await outcome(impl.readdir(join(at, 'a'), { withFileTypes: true }).then((es) => es.map((e) => [e.name, e.isDirectory()]))));
        seen.push(await outcome(impl.link(join(at, 'a', 'f'), join(at, 'a', 'g'))));
        seen.push(await outcome(impl.link(join(at, 'a', 'f'), join(at, 'a', 'g'))));
        seen.push(await outcome(impl.chmod(join(at, 'a', 'g'), 0o600).then(() => impl.stat(join(at, 'a', 'g'))).then((s) => s.mode & 0o777)));
        seen.push(await outcome(impl.rename(join(at, 'a', 'g'), join(at, 'a', 'h'))));
        seen.push(await outcome(impl.rename(join(at, 'a', 'g'), join(at, 'a', 'h'))));
        seen.push(await outcome(impl.mkdtemp(join(at, 'tmp-')).then((p) => p.startsWith(join(at, 'tmp-')))));
        seen.push(await outcome(impl.readlink(join(at, 'a', 'f'))));
        seen.push(await outcome(impl.realpath(join(at, 'a', '..', 'a', 'f'))));
        seen.push(await outcome(impl.realpath(join(at, 'missing'))));
        seen.push(await outcome(impl.rm(join(at, 'a'))));
        seen.push(await outcome(impl.rm(join(at, 'a'), { recursive: true, force: true })));
        seen.push(await outcome(impl.rm(join(at, 'a'), { force: true })));
        seen.push(await outcome(impl.open(join(at, 'opened'), 'w').then(async (h) => (await h.close(), 'closed'))));
        (name === 'promises' ? promised : callbacks).push(...seen.map((s) => JSON.stringify(s).split(at).join('<dir>')));
      }
      expect(callbacks).toEqual(promised);
      expect(promised.join('\n')).toContain('ENOENT');
      expect(promised.join('\n')).toContain('EEXIST');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
