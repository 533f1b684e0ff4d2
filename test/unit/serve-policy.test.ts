import { afterAll, describe, expect, it } from 'vitest';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startsFromCache } from '../../cli/code-cache.js';
import { cachePlace } from '../../cli/code-cache-store.js';
import type { Booted } from '../../cli/boot.js';

/**
 * The loader's half of the serving policy (cli/code-cache.ts startsFromCache; cli/serve/client.ts ownProcessSooner):
 * a command is asked to be served only where its own process would not start from a code cache.
 */
const base = mkdtempSync(join(tmpdir(), 'gitbus-serve-policy-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

const folders = { base, root: join(base, 'gitbus'), keys: join(base, 'gitbus', 'code-cache') };
const booted = (over: Partial<Booted> = {}): Booted => ({ importModule: () => Promise.resolve(), loader: 'accepted', folders, parts: ['a', 'b'], ...over });
const env = {};

describe('whether a command would start from its code cache in its own process', () => {
  it('not without the folders the boot found usable (GITBUS_CODE_CACHE=0, a folder it could not use)', () => {
    expect(startsFromCache(booted({ folders: undefined, parts: undefined, loader: 'off' }), env, 'status')).toBe(false);
    expect(startsFromCache(booted({ folders: undefined, parts: undefined, loader: 'unsafe' }), env, 'status')).toBe(false);
  });

  it('not when its key folder is not there to write its cache into; yes once it is, and when its cache file is there', () => {
    const place = cachePlace(folders, 'a+b', 'status', env);
    expect(startsFromCache(booted(), env, 'status')).toBe(false);
    mkdirSync(place.dir, { recursive: true });
    expect(startsFromCache(booted(), env, 'status')).toBe(true);
    writeFileSync(place.file, 'cache');
    expect(startsFromCache(booted(), env, 'status')).toBe(true);
    // Another build's key folder is another folder.
    expect(startsFromCache(booted({ parts: ['c'] }), env, 'status')).toBe(false);
  });

  it('in a key folder it may not write (a read-only cache in a sandbox): yes only when its cache file is there already', (ctx) => {
    const ro = join(base, 'read-only');
    const roFolders = { base: ro, root: join(ro, 'gitbus'), keys: join(ro, 'gitbus', 'code-cache') };
    mkdirSync(roFolders.keys, { recursive: true });
    chmodSync(base, 0o755);
    // A script of its own (node -e would be a Node option, which names another cache file): its answer and the file.
    const script = join(base, 'check.mjs');
    const dist = (p: string) => new URL(`../../dist/cli/${p}`, import.meta.url).href;
    writeFileSync(script, `import { startsFromCache } from '${dist('code-cache.js')}';\nimport { cachePlace } from '${dist('code-cache-store.js')}';\nimport { mkdirSync } from 'node:fs';\nconst folders = ${JSON.stringify(roFolders)};\nconst place = cachePlace(folders, 'a+b', 'show', {});\nif (process.argv[2] === 'make') mkdirSync(place.dir, { recursive: true });\nprocess.stdout.write(JSON.stringify({ starts: startsFromCache({ loader: 'accepted', folders, parts: ['a', 'b'] }, {}, 'show'), file: place.file, dir: place.dir }));\n`);
    const made = JSON.parse(spawnSync(process.execPath, [script, 'make'], { encoding: 'utf8', env: {}, timeout: 60_000 }).stdout) as { file: string; dir: string };
    // Root may write any folder: the check runs as nobody there (uid 65534), else as this user with the folder read-only.
    const asRoot = process.getuid?.() === 0;
    if (asRoot) {
      const reach = spawnSync(process.execPath, ['-e', `require('node:fs').accessSync(${JSON.stringify(script)}, 4)`], { uid: 65534, gid: 65534, encoding: 'utf8', timeout: 60_000 });
      if (reach.error !== undefined || reach.status !== 0) {
        // A temp folder uid 65534 cannot reach (a private TMPDIR), or no such user here.
        if (process.env['CI'] === 'true') throw new Error(`uid 65534 cannot read ${script}: ${reach.error?.message ?? reach.stderr}`);
        ctx.skip();
      }
    }
    const check = (): unknown => {
      if (!asRoot) chmodSync(made.dir, 0o555);
      const r = spawnSync(process.execPath, [script], { encoding: 'utf8', env: {}, timeout: 60_000, ...(asRoot ? { uid: 65534, gid: 65534 } : {}) });
      if (!asRoot) chmodSync(made.dir, 0o755);
      expect(r.error).toBeUndefined();
      expect(r.stderr).toBe('');
      return (JSON.parse(r.stdout) as { starts: boolean }).starts;
    };
    expect(check()).toBe(false);
    writeFileSync(made.file, 'cache');
    expect(check()).toBe(true);
  });
});
