import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EnvManifest } from '../../schemas/env-manifest.js';
import { applyPlan } from '../../bus/env/apply.js';
import { BACKUP_KEEP, listBackups, pruneBackups, restoreBackup } from '../../bus/env/backups.js';
import { sha256Hex } from '../../bus/env/hash.js';
import type { EnvProfile } from '../../bus/env/profile.js';
import { planProfile } from '../../bus/env/plan.js';
import { readState, statePath, writeState } from '../../bus/env/state-store.js';
import { EnvHomeMissingError } from '../../bus/env/errors.js';
import { envUserHome } from '../../bus/env/local.js';
import { tempDir } from '../helpers/cli.js';

/** apply, backups and restore on a real file system, without a bus: the profile is built in memory. */

let dir: { path: string; cleanup: () => Promise<void> };
let home: string;
let user: string;
const facts = { node: 'n', platform: 'linux' };

function profile(files: Record<string, { text: string; executable?: boolean }>, entries: EnvManifest['entries']): EnvProfile {
  const manifest: EnvManifest = { format: 1, entries, files: Object.fromEntries(Object.entries(files).map(([s, f]) => [s, { sha256: sha256Hex(f.text), size: Buffer.byteLength(f.text), ...(f.executable ? { executable: true } : {}) }])) };
  return {
    name: 'p',
    manifestPath: 'env/p/manifest.yaml',
    manifestBytes: new Uint8Array(),
    manifest,
    treeOid: '0'.repeat(40),
    contents: new Map(Object.entries(files).map(([s, f]) => [s, Buffer.from(f.text)])),
    warnings: [],
    present: Object.keys(files),
  };
}
const put = (rel: string, text: string) => {
  mkdirSync(join(user, rel, '..'), { recursive: true });
  writeFileSync(join(user, rel), text);
};

beforeEach(async () => {
  dir = await tempDir('gitbus-env-');
  home = join(dir.path, 'bus-home');
  user = join(dir.path, 'HOME');
  mkdirSync(user);
});
afterEach(async () => dir.cleanup());

describe('env apply on a file system', () => {
  it('never writes through or over a symbolic link, even with --force', () => {
    put('dotfiles/zshrc', 'mine\n');
    symlinkSync(join(user, 'dotfiles/zshrc'), join(user, '.zshrc'));
    const p = profile({ 'home/.zshrc': { text: 'theirs\n' } }, [{ source: 'home/.zshrc', target: '~/.zshrc' }]);
    const plan = planProfile(p, user, readState(home, 'p'), facts, { force: true });
    expect(plan.files[0]).toMatchObject({ state: 'conflict', action: 'none', held: expect.stringMatching(/symbolic link/) });
    const r = applyPlan(home, user, 'n', plan);
    expect(r.written).toEqual([]);
    expect(lstatSync(join(user, '.zshrc')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(user, '.zshrc'))).toBe(join(user, 'dotfiles/zshrc'));
    expect(readFileSync(join(user, 'dotfiles/zshrc'), 'utf8')).toBe('mine\n');
  });

  it('keeps the mode as executable or not', () => {
    const p = profile({ 'home/bin/tool': { text: '#!/bin/sh\necho hi\n', executable: true }, 'home/.gitconfig': { text: '[user]\n' } }, [
      { source: 'home/bin', target: '~/bin', kind: 'dir' },
      { source: 'home/.gitconfig', target: '~/.gitconfig' },
    ]);
    put('.gitconfig', 'old\n');
    writeState(home, { format: 1, profile: 'p', files: { '~/.gitconfig': { hash: sha256Hex('old\n'), at: 'x' } } });
    const r = applyPlan(home, user, 'n', planProfile(p, user, readState(home, 'p'), facts));
    expect(r.written.sort()).toEqual(['~/.gitconfig', '~/bin/tool']);
    expect(statSync(join(user, 'bin/tool')).mode & 0o111).not.toBe(0);
    expect(statSync(join(user, '.gitconfig')).mode & 0o111).toBe(0);
  });

  it('removes a folder\'s file the profile lost when it is as the node got it, and restore brings it back', () => {
    put('.claude/commands/old.md', 'old\n');
    put('.claude/commands/edited.md', 'edited here\n');
    writeState(home, { format: 1, profile: 'p', files: { '~/.claude/commands/old.md': { hash: sha256Hex('old\n'), at: 'x' }, '~/.claude/commands/edited.md': { hash: sha256Hex('as written\n'), at: 'x' } } });
    const p = profile({ 'home/.claude/commands/new.md': { text: 'new\n' } }, [{ source: 'home/.claude/commands', target: '~/.claude/commands', kind: 'dir' }]);
    const r = applyPlan(home, user, 'n', planProfile(p, user, readState(home, 'p'), facts));
    expect(r).toMatchObject({ written: ['~/.claude/commands/new.md'], removed: ['~/.claude/commands/old.md'] });
    expect(r.held.map((h) => h.target)).toEqual(['~/.claude/commands/edited.md']);
    expect(existsSync(join(user, '.claude/commands/old.md'))).toBe(false);
    expect(Object.keys(readState(home, 'p').files).sort()).toEqual(['~/.claude/commands/edited.md', '~/.claude/commands/new.md']);
    const back = restoreBackup(home, user, 'n', r.backup ?? undefined);
    expect(back.files).toEqual([{ target: '~/.claude/commands/new.md', action: 'removed' }, { target: '~/.claude/commands/old.md', action: 'restored' }]);
    expect(readFileSync(join(user, '.claude/commands/old.md'), 'utf8')).toBe('old\n');
    expect(existsSync(join(user, '.claude/commands/new.md'))).toBe(false);
    // The newest backup not restored yet is the next default: there is none.
    expect(() => restoreBackup(home, user, 'n', undefined)).toThrow(/no backup to restore/);
  });

  it('a dry run changes nothing, not even state.json', () => {
    const p = profile({ 'home/.zshrc': { text: 'x\n' } }, [{ source: 'home/.zshrc', target: '~/.zshrc' }]);
    const r = applyPlan(home, user, 'n', planProfile(p, user, readState(home, 'p'), facts), { dryRun: true });
    expect(r).toMatchObject({ dryRun: true, written: ['~/.zshrc'], backup: null });
    expect(existsSync(join(user, '.zshrc'))).toBe(false);
    expect(existsSync(statePath(home, 'p'))).toBe(false);
  });

  it('keeps the newest backups and every recent one, removing old ones beyond that', () => {
    const p = profile({ 'home/.zshrc': { text: 'bus\n' } }, [{ source: 'home/.zshrc', target: '~/.zshrc' }]);
    const old = new Date(Date.now() - 40 * 24 * 3600_000);
    for (let i = 0; i < BACKUP_KEEP + 5; i++) {
      put('.zshrc', `local ${i}\n`);
      applyPlan(home, user, 'n', planProfile(p, user, { format: 1, profile: 'p', files: {} }, facts, { force: true }), { now: new Date(old.getTime() + i * 1000) });
    }
    expect(listBackups(home).length).toBe(BACKUP_KEEP + 5);
    // The next apply (now) prunes: the oldest go, as many as are beyond the newest BACKUP_KEEP.
    put('.zshrc', 'local now\n');
    const r = applyPlan(home, user, 'n', planProfile(p, user, { format: 1, profile: 'p', files: {} }, facts, { force: true }));
    const left = listBackups(home);
    expect(left.length).toBe(BACKUP_KEEP);
    expect(left.at(-1)?.id).toBe(r.backup);
    expect(pruneBackups(home)).toEqual([]);
  });

  it('ignores state.json entries that are not targets', () => {
    mkdirSync(join(home, 'env/p'), { recursive: true });
    writeFileSync(statePath(home, 'p'), JSON.stringify({ files: { '~/ok': { hash: 'h', at: 'x' }, '/etc/passwd': { hash: 'h', at: 'x' }, '~/../x': { hash: 'h', at: 'x' }, '~/bad': { at: 'x' } } }));
    expect(Object.keys(readState(home, 'p').files)).toEqual(['~/ok']);
  });

  it('takes the account\'s home when HOME is not set, and says HOME and the passwd file when that one is not there either', () => {
    expect(envUserHome(undefined, () => user)).toBe(user);
    expect(envUserHome('', () => user)).toBe(user);
    expect(envUserHome(`${user}/`, () => '/')).toBe(user);
    const gone = join(dir.path, 'nonexistent');
    for (const raw of [undefined, '']) {
      let err: unknown;
      try {
        envUserHome(raw, () => gone);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(EnvHomeMissingError);
      expect(err).toMatchObject({ code: 'ENV_HOME_MISSING', data: { home: gone, from: 'account' }, fix: expect.stringMatching(/^set HOME to your home folder/) });
      expect((err as Error).message).toMatch(/^HOME is not set, and this account's home folder .*nonexistent \(from the passwd file\) does not exist/);
    }
  });
});
