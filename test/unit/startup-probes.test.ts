import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mayBeInWorkTree } from '../../bus/project/work-tree-probe.js';
import { parseSigningConfig } from '../../bus/trust/signing-key.js';
import { readLooseRef } from '../../bus/store/local-ref.js';

/** The file reads that stand in for a git process or isomorphic-git at start-up (issue 14). */
describe('start-up probes', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gitbus-probes-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('mayBeInWorkTree: false only with no .git above and no GIT_DIR or GIT_WORK_TREE', () => {
    const plain = join(dir, 'plain', 'a', 'b');
    mkdirSync(plain, { recursive: true });
    // The temp folder itself may sit under a checkout (a developer's TMPDIR); then git would be asked, rightly.
    const outside = !mayBeInWorkTree(dir, {});
    if (outside) expect(mayBeInWorkTree(plain, {})).toBe(false);
    expect(mayBeInWorkTree(plain, { GIT_DIR: '/somewhere/.git' })).toBe(true);
    expect(mayBeInWorkTree(plain, { GIT_WORK_TREE: '/somewhere' })).toBe(true);
    // A .git folder or a .git file (a linked worktree, a submodule) anywhere above counts.
    const repo = join(dir, 'repo');
    mkdirSync(join(repo, '.git'), { recursive: true });
    mkdirSync(join(repo, 'src', 'deep'), { recursive: true });
    expect(mayBeInWorkTree(join(repo, 'src', 'deep'), {})).toBe(true);
    expect(mayBeInWorkTree(join(repo, '.git'), {})).toBe(true);
    const linked = join(dir, 'linked');
    mkdirSync(linked);
    writeFileSync(join(linked, '.git'), 'gitdir: /elsewhere\n');
    expect(mayBeInWorkTree(linked, {})).toBe(true);
  });

  it('parseSigningConfig reads git config -z --get-regexp as git config --get would', () => {
    expect(parseSigningConfig('')).toEqual({ format: null, key: null });
    expect(parseSigningConfig('gpg.format\nssh\0user.signingkey\nkey::ssh-ed25519 AAAA x\0user.signingkey\n~/.ssh/id.pub\0')).toEqual({ format: 'ssh', key: '~/.ssh/id.pub' });
    // A key without a value ("[gpg] format" alone) and an empty one are unset, as --get's empty output was.
    expect(parseSigningConfig('gpg.format\0user.signingkey\n\0')).toEqual({ format: null, key: null });
    expect(parseSigningConfig('user.signingkey\nkey::ssh-ed25519 AAAA two\nlines\0')).toEqual({ format: null, key: 'key::ssh-ed25519 AAAA two\nlines' });
  });

  it('readLooseRef: the oid of a loose ref, null with no ref and no packed-refs, undefined for git to decide', () => {
    const gitdir = join(dir, 'clone.git');
    mkdirSync(join(gitdir, 'refs', 'heads'), { recursive: true });
    const oid = 'a'.repeat(40);
    writeFileSync(join(gitdir, 'refs', 'heads', 'main'), `${oid}\n`);
    expect(readLooseRef(gitdir, 'refs/heads/main')).toBe(oid);
    expect(readLooseRef(gitdir, 'refs/heads/archive')).toBeNull();
    writeFileSync(join(gitdir, 'refs', 'heads', 'sym'), 'ref: refs/heads/main\n');
    expect(readLooseRef(gitdir, 'refs/heads/sym')).toBeUndefined();
    writeFileSync(join(gitdir, 'packed-refs'), `${oid} refs/heads/archive\n`);
    expect(readLooseRef(gitdir, 'refs/heads/archive')).toBeUndefined();
    expect(() => readLooseRef(gitdir, '--upload-pack=x')).toThrow();
  });
});
