import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN } from '../helpers/cli.js';
import { NOT_SERVED, OWN_PROCESS_SOONER } from '../../cli/serve/client.js';

/**
 * The serving policy through the real boot and loader (cli/boot.ts, cli/code-cache.ts startsFromCache): in a sandbox
 * whose code cache is read-only, a command whose cache file is there starts from it in its own process (not served),
 * and one whose file is not would run the ES module build at every run, so it asks to be served. As root, the
 * commands run as uid 65534 (root may write any folder); as another user, as that user with the folder made read-only.
 */
const asRoot = process.getuid?.() === 0;
const NOBODY = 65534;
const base = mkdtempSync(join(tmpdir(), 'gitbus-serve-sandbox-'));
chmodSync(base, 0o755);
afterAll(() => rmSync(base, { recursive: true, force: true }));

/** A folder of the user the commands run as. */
function ownFolder(path: string): string {
  mkdirSync(path, { recursive: true });
  if (asRoot) chownSync(path, NOBODY, NOBODY);
  return path;
}

describe('a read-only code cache, as in a sandbox', () => {
  it('a command whose cache file is there runs from it in its own process; one whose file is not asks to be served', (ctx) => {
    const user = ownFolder(join(base, 'user'));
    const cache = ownFolder(join(user, 'cache'));
    const serveReport = join(user, 'serve.jsonl');
    const cacheReport = join(user, 'cache.jsonl');
    const run = () => {
      const r = spawnSync(process.execPath, [BIN, 'status', '--home', join(user, 'no-home')], {
        encoding: 'utf8',
        timeout: 60_000,
        cwd: user,
        env: { PATH: process.env['PATH'] ?? '', HOME: user, XDG_CACHE_HOME: cache, GITBUS_SERVE_REPORT: serveReport, GITBUS_CODE_CACHE_REPORT: cacheReport, GITBUS_SERVE_AUTO: '0' },
        ...(asRoot ? { uid: NOBODY, gid: NOBODY } : {}),
      });
      const last = (file: string) => JSON.parse(readFileSync(file, 'utf8').trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
      return { r, serve: last(serveReport), cache: last(cacheReport) };
    };
    const first = run();
    if (asRoot && first.r.error !== undefined) {
      // A temp folder uid 65534 cannot reach (a private TMPDIR): the check needs another user.
      if (process.env['CI'] === 'true') throw first.r.error;
      ctx.skip();
    }
    // The home does not exist: the command fails, after the loader decided and wrote the caches.
    expect(first.serve).toMatchObject({ command: 'status', served: false, reason: OWN_PROCESS_SOONER });
    const keyFolder = dirname(String(first.cache['file']));
    expect(readdirSync(keyFolder).sort()).toEqual(expect.arrayContaining(['gitbus.loader.bin', 'status.bin']));
    // Read-only, without the loader's own cache file: the boot cannot keep the loader's cache there, and the
    // command's is still there to start from.
    rmSync(join(keyFolder, 'gitbus.loader.bin'));
    chmodSync(keyFolder, 0o555);
    try {
      const readOnly = run();
      expect(readOnly.cache).toMatchObject({ command: 'status', cache: 'accepted', loader: 'unavailable' });
      expect(readOnly.serve).toMatchObject({ served: false, reason: OWN_PROCESS_SOONER });
      // Without the command's file either: its own process would run the ES module build, so it asks to be served
      // (nothing serves this home here).
      chmodSync(keyFolder, 0o755);
      rmSync(join(keyFolder, 'status.bin'));
      chmodSync(keyFolder, 0o555);
      const without = run();
      expect(without.cache).toMatchObject({ command: 'status', cache: 'unavailable' });
      expect(without.serve).toMatchObject({ served: false, reason: NOT_SERVED });
    } finally {
      chmodSync(keyFolder, 0o755);
    }
  });
});
