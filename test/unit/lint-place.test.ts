import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lstatSync, mkdirSync, mkdtempSync, realpathSync, renameSync, rmSync, symlinkSync, writeFileSync, type Stats } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isUnread, listLooked, lookAtCheckout, readLooked, replaced } from '../../bus/ops/lint-disk.js';
import { foldersAbove, foldersHeld, judgeListed, judgeOpened, NotInCheckoutError, type Checkout, type Look } from '../../bus/ops/lint-place.js';

/**
 * `gitbus lint PATH` reads only the checkout it walks (bus/ops/lint-place.ts): O_NOFOLLOW guards only the last part
 * of a path, so a folder of the checkout swapped for a link out of it after lint looked at it must not be read or
 * listed through. The pure judgments, then lint's own steps called in order on real files with the swap made
 * between them: look, swap, read (or list).
 */
describe('lint judges where what it opened or listed really is', () => {
  const co: Checkout = { root: '/co', real: '/real/co', id: { dev: 1, ino: 10 } };
  const look = (ino: number, kind: 'folder' | 'link' | 'file' = 'folder', dev = 1): Look => ({ dev, ino, isDirectory: () => kind === 'folder', isSymbolicLink: () => kind === 'link' });

  it('the folders above a path, from the top', () => {
    expect(foldersAbove('gitbus.yaml')).toEqual([]);
    expect(foldersAbove('handoffs/x.md')).toEqual(['handoffs']);
    expect(foldersAbove('env/p1/files/rc')).toEqual(['env', 'env/p1', 'env/p1/files']);
  });

  it('an opened file is here only at its path under the checkout\'s real path', () => {
    expect(judgeOpened(co, 'handoffs/x.md', '/real/co/handoffs/x.md')).toBe('here');
    expect(judgeOpened(co, 'handoffs/x.md', '/real/co/handoffs/x.md (deleted)')).toBe('gone');
    // Followed through a link in a folder of its path: outside, or elsewhere in the checkout, or a sibling folder.
    for (const opened of ['/home/me/.ssh/x.md', '/real/co/claims/x.md', '/real/co2/handoffs/x.md', '/real/co/handoffs/x.md/', '/elsewhere/x.md (deleted)', '/co/handoffs/x.md']) {
      expect(judgeOpened(co, 'handoffs/x.md', opened), opened).toBe('elsewhere');
    }
  });

  it('without /proc, the folders above a file must be the same folders before its open and after its read', () => {
    expect(foldersHeld(co, [look(10), look(20)], [look(10), look(20)])).toBe(true);
    expect(foldersHeld(co, [look(10)], [look(10)])).toBe(true);
    // Another root than lint started from, a folder replaced (another inode, another device), a link, a file, nothing.
    expect(foldersHeld(co, [look(11), look(20)], [look(11), look(20)])).toBe(false);
    expect(foldersHeld(co, [look(10), look(20)], [look(10), look(21)])).toBe(false);
    expect(foldersHeld(co, [look(10), look(20)], [look(10), look(20, 'folder', 2)])).toBe(false);
    expect(foldersHeld(co, [look(10), look(20, 'link')], [look(10), look(20, 'link')])).toBe(false);
    expect(foldersHeld(co, [look(10), look(20, 'file')], [look(10), look(20, 'file')])).toBe(false);
    expect(foldersHeld(co, [look(10), undefined], [look(10), look(20)])).toBe(false);
    expect(foldersHeld(co, [look(10), look(20)], [look(10)])).toBe(false);
    expect(foldersHeld(co, [], [])).toBe(false);
  });

  it('a listed folder is the same only if every look around its listing saw that folder', () => {
    expect(judgeListed(look(20), look(20), look(20))).toBe('same');
    expect(judgeListed(undefined, look(20), look(20))).toBe('same');
    expect(judgeListed(look(20), look(20, 'link'), look(20))).toBe('replaced');
    expect(judgeListed(look(20), look(20), look(20, 'link'))).toBe('replaced');
    expect(judgeListed(look(20), look(21), look(21))).toBe('replaced');
    expect(judgeListed(look(20), look(20), look(21))).toBe('replaced');
    // A removed folder, or a file in its place, as a listing that fails says it.
    expect(judgeListed(look(20), undefined, undefined)).toBe('gone');
    expect(judgeListed(look(20), look(20), undefined)).toBe('gone');
    expect(judgeListed(look(20), look(20), look(20, 'file'))).toBe('gone');
  });
});

describe('lint steps on disk, a folder swapped for a link out of the checkout between them', () => {
  let top: string;
  let root: string;
  const secret = 'the-secret-outside-zz9';
  const body = '---\ntitle: a task\n---\nbody\n';
  /** Where lint looks for /proc/self/fd: nowhere, to take the way of a system without /proc. */
  const noProc = '/nonexistent-proc-for-the-test/fd';

  beforeEach(() => {
    top = realpathSync(mkdtempSync(join(tmpdir(), 'gitbus-lint-place-')));
    root = join(top, 'checkout');
    mkdirSync(join(root, 'handoffs'), { recursive: true });
    writeFileSync(join(root, 'gitbus.yaml'), 'protocol: 1\n');
    writeFileSync(join(root, 'handoffs', 'ok.md'), body);
    // Outside the checkout, the names lint would look for, holding what must never reach its report.
    mkdirSync(join(top, 'outside'));
    writeFileSync(join(top, 'outside', 'ok.md'), `---\ntitle: ${secret}\n---\n${secret}\n`);
    writeFileSync(join(top, 'outside', `${secret}.md`), secret);
  });
  afterEach(() => {
    rmSync(top, { recursive: true, force: true });
  });

  /** What another process does: the checkout's folder moved aside and a link out of the checkout put at its name. */
  const swap = (folder: string): void => {
    renameSync(join(root, folder), join(top, 'moved-aside'));
    symlinkSync(join(top, 'outside'), join(root, folder));
  };
  const swapBack = (folder: string): void => {
    rmSync(join(root, folder));
    renameSync(join(top, 'moved-aside'), join(root, folder));
  };

  for (const [way, procFd] of [['/proc', undefined], ['identities (no /proc)', noProc]] as const) {
    it(`a file is read when nothing moved (${way})`, async () => {
      const co = await lookAtCheckout(root);
      const st = lstatSync(join(root, 'handoffs', 'ok.md'));
      expect(await readLooked(co, 'handoffs/ok.md', st, 1000, procFd)).toEqual({ bytes: Buffer.from(body), more: false });
    });

    it(`a file whose folder became a link after lint looked at it is not read, and is its own problem (${way})`, async () => {
      const co = await lookAtCheckout(root);
      const st = lstatSync(join(root, 'handoffs', 'ok.md'));
      swap('handoffs');
      const read = await readLooked(co, 'handoffs/ok.md', st, 1000, procFd);
      expect(read).toBeInstanceOf(NotInCheckoutError);
      expect(read).toMatchObject({ code: 'NOT_IN_CHECKOUT' });
      if (!isUnread(read)) throw new Error('read');
      const problem = replaced('handoffs/ok.md', read);
      expect(problem).toEqual({ path: 'handoffs/ok.md', field: '', reason: expect.stringMatching(/^it is not where lint looked at it in the checkout any more: a folder on its path/), fix: expect.stringContaining('lint again'), severity: 'error' });
      expect(JSON.stringify([read, problem, read.message])).not.toContain(secret);
    });

    it(`a file whose folder became a link and the same folder again between the look and the open is read (${way})`, async () => {
      const co = await lookAtCheckout(root);
      const st = lstatSync(join(root, 'handoffs', 'ok.md'));
      swap('handoffs');
      swapBack('handoffs');
      expect(await readLooked(co, 'handoffs/ok.md', st, 1000, procFd)).toEqual({ bytes: Buffer.from(body), more: false });
    });
  }

  it('without /proc, a file the look found through a link already is refused too: its folder is no folder at the read', async () => {
    const co = await lookAtCheckout(root);
    swap('handoffs');
    const st = lstatSync(join(root, 'handoffs', 'ok.md'));
    expect(await readLooked(co, 'handoffs/ok.md', st, 1000, noProc)).toBeInstanceOf(NotInCheckoutError);
  });

  it('a folder that became a link after lint looked at it is not listed: its problem, and no name in it', async () => {
    const co = await lookAtCheckout(root);
    const st: Stats = lstatSync(join(root, 'handoffs'));
    swap('handoffs');
    const listed = await listLooked(co, 'handoffs', st);
    expect(listed).toEqual({ path: 'handoffs', field: '', reason: expect.stringMatching(/^it is not the folder lint looked at any more: a symbolic link or another folder took its place/), fix: expect.stringContaining('lint again'), severity: 'error' });
    expect(JSON.stringify(listed)).not.toContain(secret);
  });

  it('a folder that is another folder than lint looked at is replaced; one removed is gone; one unchanged is listed with its looks', async () => {
    const co = await lookAtCheckout(root);
    const st = lstatSync(join(root, 'handoffs'));
    expect(await listLooked(co, 'handoffs', st)).toEqual([{ name: 'ok.md', st: expect.objectContaining({ ino: lstatSync(join(root, 'handoffs', 'ok.md')).ino }) }]);
    renameSync(join(root, 'handoffs'), join(top, 'moved-aside'));
    mkdirSync(join(root, 'handoffs'));
    expect(await listLooked(co, 'handoffs', st)).toMatchObject({ path: 'handoffs', reason: expect.stringContaining('not the folder lint looked at') });
    rmSync(join(root, 'handoffs'), { recursive: true });
    expect(await listLooked(co, 'handoffs', st)).toMatchObject({ path: 'handoffs', reason: expect.stringContaining('it is gone') });
  });
});
