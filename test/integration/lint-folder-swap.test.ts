import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cpSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FileProblem } from '../../schemas/errors.js';
import { lintPath } from '../../bus/ops/lint.js';
import { lookAtCheckout, readLooked } from '../../bus/ops/lint-disk.js';
import { NotInCheckoutError } from '../../bus/ops/lint-place.js';
import { onCall, onOpen } from '../helpers/fs-seam.js';

/**
 * `gitbus lint PATH` opens files with O_NOFOLLOW, which guards only the last part of a path: a FOLDER of the checkout
 * swapped for a link out of it after lint looked at it would be followed. Every file in the coordination repo is
 * untrusted, and lint must read and list nothing outside the checkout (bus/ops/lint-place.ts). The swap is made at
 * the call itself (the open of a file, the listing of a folder, the look at one of its entries), so that the race is
 * certain: a link to a copy of the folder outside the checkout, every file in it holding a secret and one more file
 * named after it, takes the folder's place. The secret must appear nowhere in what lint reports.
 */
describe('lint reads and lists nothing through a folder swapped for a link out of the checkout', () => {
  let top: string;
  let root: string;
  const secret = 'the-secret-outside-zz9';
  const sig = '-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----\n';

  beforeEach(() => {
    top = realpathSync(mkdtempSync(join(tmpdir(), 'gitbus-lint-folder-swap-')));
    root = join(top, 'checkout');
    mkdirSync(join(root, 'handoffs'), { recursive: true });
    writeFileSync(join(root, 'gitbus.yaml'), 'protocol: 1\n');
    writeFileSync(join(root, 'handoffs', 'ok.md'), '---\ntitle: a task\n---\nbody\n');
    writeFileSync(join(root, 'handoffs', 'bad.md'), '---\ntitle: odd\nsurprise: 1\n---\n');
    mkdirSync(join(root, 'signatures', 'handoffs'), { recursive: true });
    writeFileSync(join(root, 'signatures', 'handoffs', 'ok.md.sig'), sig);
    mkdirSync(join(root, 'env', 'p1', 'files'), { recursive: true });
    writeFileSync(join(root, 'env', 'p1', 'manifest.yaml'), manifest('rc', 'abc'));
    writeFileSync(join(root, 'env', 'p1', 'files', 'rc'), 'abc');
    // A profile with a problem of its own, linted after the others: that it is reported shows lint went on.
    mkdirSync(join(root, 'env', 'p2', 'files'), { recursive: true });
    writeFileSync(join(root, 'env', 'p2', 'manifest.yaml'), manifest('missing', 'x'));
  });
  afterEach(() => {
    rmSync(top, { recursive: true, force: true });
  });

  const manifest = (name: string, body: string): string => `format: 1\nentries:\n  - source: ${name}\n    target: ~/.${name}\nfiles:\n  ${name}: {sha256: ${createHash('sha256').update(body).digest('hex')}, size: ${body.length}, executable: false}\n`;

  /** What another process does: `folder` moved aside, a link to a copy of it outside the checkout put at its name. */
  const swapFor = (folder: string) => (): void => {
    const outside = join(top, 'outside');
    cpSync(join(root, ...folder.split('/')), outside, { recursive: true });
    const poison = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (lstatSync(path).isDirectory()) poison(path);
        else writeFileSync(path, `---\ntitle: ${secret}\n${secret}: 1\n---\n${secret}\n`);
      }
      writeFileSync(join(dir, `${secret}.md`), secret);
    };
    poison(outside);
    renameSync(join(root, ...folder.split('/')), join(top, 'moved-aside'));
    symlinkSync(outside, join(root, ...folder.split('/')));
  };

  const mine = (report: { problems: FileProblem[] }, path: string) => report.problems.filter((p) => p.path === path);
  const wentOn = (report: { problems: FileProblem[] }, folder: string) => {
    // The last profile is linted after everything else, unless the swap took env/ itself.
    if (folder !== 'env') expect(report.problems.map((p) => p.path).some((p) => p.startsWith('env/p2/')), 'lint went on').toBe(true);
    else expect(mine(report, 'handoffs/bad.md')).not.toEqual([]);
  };
  const moved = (path: string) => ({ path, field: '', reason: expect.stringMatching(/^it is not where lint looked at it in the checkout any more: a folder on its path/), fix: expect.stringContaining('lint again'), severity: 'error' });
  const folderReplaced = (path: string) => ({ path, field: '', reason: expect.stringMatching(/^it is not the folder lint looked at any more: a symbolic link or another folder took its place/), fix: expect.stringContaining('lint again'), severity: 'error' });

  /** `nth`: which open of the file (a signed file is read by the walk and again by its sidecar's check). */
  const reads: { place: string; target: string; file: string; folder: string; nth?: number }[] = [
    { place: 'a bus file of a checkout', target: '.', file: 'handoffs/ok.md', folder: 'handoffs' },
    { place: 'a bus file linted alone', target: 'handoffs/ok.md', file: 'handoffs/ok.md', folder: 'handoffs' },
    { place: 'the file a sidecar of a checkout signs', target: '.', file: 'handoffs/ok.md', folder: 'handoffs', nth: 2 },
    { place: 'a sidecar of a checkout', target: '.', file: 'signatures/handoffs/ok.md.sig', folder: 'signatures/handoffs' },
    { place: 'a sidecar of a checkout', target: '.', file: 'signatures/handoffs/ok.md.sig', folder: 'signatures' },
    { place: 'a sidecar linted alone', target: 'signatures/handoffs/ok.md.sig', file: 'signatures/handoffs/ok.md.sig', folder: 'signatures/handoffs' },
    { place: 'the file a sidecar linted alone signs', target: 'signatures/handoffs/ok.md.sig', file: 'handoffs/ok.md', folder: 'handoffs' },
    { place: 'a file of a profile of a checkout', target: '.', file: 'env/p1/files/rc', folder: 'env/p1/files' },
    { place: 'a file of a profile of a checkout', target: '.', file: 'env/p1/files/rc', folder: 'env/p1' },
    { place: 'a file of a profile of a checkout', target: '.', file: 'env/p1/files/rc', folder: 'env' },
    { place: 'the manifest of a profile of a checkout', target: '.', file: 'env/p1/manifest.yaml', folder: 'env/p1' },
    { place: 'a file of a profile linted alone', target: 'env/p1/files/rc', file: 'env/p1/files/rc', folder: 'env/p1/files' },
  ];
  for (const { place, target, file, folder, nth } of reads) {
    it(`${place} (${file}), its folder ${folder} swapped for a link out of the checkout just before lint opens it, is reported and not read`, async () => {
      const { result: report, hits } = await onOpen(join(root, ...file.split('/')), swapFor(folder), () => lintPath(join(root, ...target.split('/'))), { nth });
      expect(hits, 'the folder was swapped in the window').toBe(1);
      expect(mine(report, file)).toEqual([moved(file)]);
      expect(JSON.stringify(report), 'nothing outside was read').not.toContain(secret);
      if (target === '.') wentOn(report, folder);
    });
  }

  it('a file in no checkout, linted alone, its folder swapped for a link just before lint opens it, is reported and not read', async () => {
    rmSync(join(root, 'gitbus.yaml'));
    const file = join(root, 'handoffs', 'ok.md');
    const { result: report, hits } = await onOpen(file, swapFor('handoffs'), () => lintPath(file));
    expect(hits).toBe(1);
    // Named as a file of its folder, as any file outside a checkout is.
    expect(report.problems).toEqual([moved('handoffs/ok.md')]);
    expect(JSON.stringify(report)).not.toContain(secret);
  });

  /** `entry`: an entry of the folder, whose look the swap comes before. */
  const listings: { folder: string; entry: string }[] = [
    { folder: 'handoffs', entry: 'handoffs/ok.md' },
    { folder: 'signatures', entry: 'signatures/handoffs' },
    { folder: 'signatures/handoffs', entry: 'signatures/handoffs/ok.md.sig' },
    { folder: 'env', entry: 'env/p1' },
    { folder: 'env/p1', entry: 'env/p1/manifest.yaml' },
    { folder: 'env/p1/files', entry: 'env/p1/files/rc' },
  ];
  for (const { folder, entry } of listings) {
    for (const [when, call, path] of [['before lint listed it', 'readdir', folder], ['after its listing, before lint looked at an entry', 'lstat', entry]] as const) {
      it(`${folder}, swapped for a link out of the checkout ${when}, is reported replaced and nothing in it named`, async () => {
        const { result: report, hits } = await onCall(call, join(root, ...path.split('/')), swapFor(folder), () => lintPath(root));
        expect(hits, 'the folder was swapped in the window').toBe(1);
        expect(mine(report, folder)).toEqual([folderReplaced(folder)]);
        // What was in it is not known: nothing is said of it (no file the manifest names is "missing"), but that a
        // file a sidecar signs, read through it, is not where lint looked at it.
        const inside = report.problems.filter((p) => p.path.startsWith(`${folder}/`));
        expect(inside).toEqual(inside.map((p) => moved(p.path)));
        if (folder !== 'handoffs') expect(inside).toEqual([]);
        expect(JSON.stringify(report), 'nothing outside was listed or read').not.toContain(secret);
        wentOn(report, folder);
      });
    }
  }

  // Where /proc is not (macOS): the file opened is compared with the look, and the folders above it before and after.
  it('without /proc, a folder swapped for a link just before the open and back just after it is caught by what was opened', async () => {
    const co = await lookAtCheckout(root);
    const file = join(root, 'handoffs', 'ok.md');
    const looked = lstatSync(file);
    const swapBack = (): void => {
      rmSync(join(root, 'handoffs'));
      renameSync(join(top, 'moved-aside'), join(root, 'handoffs'));
    };
    const { result: read, hits } = await onOpen(file, swapFor('handoffs'), () => readLooked(co, 'handoffs/ok.md', looked, 1000, '/nonexistent-proc-for-the-test/fd'), { after: swapBack });
    expect(hits).toBe(1);
    expect(read).toBeInstanceOf(NotInCheckoutError);
    expect(lstatSync(join(root, 'handoffs')).isDirectory()).toBe(true);
  });

  /**
   * A link swapped in may lead where lint may not look (EACCES): that failure is of whatever the link leads to, so it
   * is the swap, the path's problem, and lint goes on; the same failure where the checkout's folders are still in
   * place ends lint with LINT_UNREADABLE (lint-unreadable.test.ts makes that one with real permissions).
   */
  const denied = (call: string, path: string): NodeJS.ErrnoException => Object.assign(new Error(`EACCES: permission denied, ${call} '${path}'`), { code: 'EACCES', path, syscall: call });
  const failures: { call: 'readdir' | 'lstat' | 'open'; path: string; folder: string; says: 'folder' | 'file' }[] = [
    { call: 'readdir', path: 'handoffs', folder: 'handoffs', says: 'folder' },
    { call: 'lstat', path: 'env/p1/files/rc', folder: 'env/p1/files', says: 'folder' },
    { call: 'open', path: 'handoffs/ok.md', folder: 'handoffs', says: 'file' },
    { call: 'open', path: 'env/p1/files/rc', folder: 'env/p1', says: 'file' },
  ];
  for (const { call, path, folder, says } of failures) {
    const abs = (): string => join(root, ...path.split('/'));
    const fail = (swap: boolean) => (): NodeJS.ErrnoException => {
      if (swap) swapFor(folder)();
      return denied(call === 'readdir' ? 'scandir' : call, abs());
    };
    const lintWith = (swap: boolean) => (call === 'open' ? onOpen(abs(), fail(swap), () => lintPath(root)) : onCall(call, abs(), fail(swap), () => lintPath(root)));

    it(`the ${call} of ${path} failing (EACCES) through ${folder} swapped for a link is the swap's problem, not LINT_UNREADABLE`, async () => {
      const { result: report, hits } = await lintWith(true);
      expect(hits).toBe(1);
      expect(says === 'folder' ? mine(report, folder) : mine(report, path)).toEqual([says === 'folder' ? folderReplaced(folder) : moved(path)]);
      expect(JSON.stringify(report)).not.toContain(secret);
      wentOn(report, folder);
    });

    it(`the ${call} of ${path} failing (EACCES) with ${folder} still in place ends lint with LINT_UNREADABLE naming it`, async () => {
      await expect(lintWith(false)).rejects.toMatchObject({ code: 'LINT_UNREADABLE', data: { path: abs(), errno: 'EACCES' } });
    });
  }
});
