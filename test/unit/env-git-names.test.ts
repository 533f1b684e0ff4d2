import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { isGitDirName, whyNotTarget } from '../../schemas/env-paths.js';
import { gitCli, tempDir } from '../helpers/cli.js';

/**
 * isGitDirName against git's own rules (read-cache.c verify_path with core.protectNTFS and core.protectHFS, path.c
 * is_ntfs_dotgit, utf8.c is_hfs_dotgit): each name below is asked of the git on this machine too, which must
 * refuse exactly the names isGitDirName does.
 */

const REFUSED = [
  '.git', '.GIT', '.gIt',
  // NTFS drops trailing dots and spaces.
  '.git.', '.git ', '.Git..', '.git. .',
  // NTFS's short name of .git, with what NTFS drops after it too.
  'git~1', 'GIT~1', 'git~1.', 'git~1 .', 'Git~1...',
  // An alternate data stream: `.git::$INDEX_ALLOCATION` is the .git folder itself on NTFS.
  '.git:x', '.git::$INDEX_ALLOCATION', '.git. :stream', 'git~1:x',
  // HFS+ ignores these code points wherever they are.
  '.g\u200cit', '\ufeff.git', '.GIT\u200d', '.\u202ag\u206fi\u200et\u200f',
  // A "\" is a folder separator in NTFS's rules, which git applies on every system.
  '.git\\x', 'a\\.git', 'a\\git~1', 'a\\b\\.git. ', 'a\\.git:x',
];

const ALLOWED = [
  'git', '.github', '.gitconfig', '.gitignore', '.git-hooks', 'git~2', 'git~1x', '.gitx', 'x.git', '.git~1',
  // HFS+ keeps trailing dots and spaces: only NTFS drops them, and NTFS ignores no code points.
  '.g\u200cit.', '.git\u200c ', '\u200cgit~1',
  // git compares ASCII letters only: "İ" is no "I" there.
  '.g\u0130t', '.\uff47it',
  'a\\b', 'a\\.github',
];

describe('isGitDirName', () => {
  it('refuses what git reads as .git: NTFS trailing dots and spaces, git~1, alternate data streams, HFS+ ignored code points, "\\" parts', () => {
    for (const name of REFUSED) expect(isGitDirName(name), JSON.stringify(name)).toBe(true);
  });

  it('takes what git takes', () => {
    for (const name of ALLOWED) expect(isGitDirName(name), JSON.stringify(name)).toBe(false);
  });

  it('refuses such a part in a target whatever else it has, before the rules on white space and "\\"', () => {
    for (const part of ['git~1 .', '.git:x', 'Git~1...', '.git::$INDEX_ALLOCATION', 'a\\.git']) expect(whyNotTarget(`~/skill/${part}/HEAD`), part).toMatch(/git reads as "\.git"/);
  });

  describe('as the git on this machine judges each name', () => {
    let repo: Awaited<ReturnType<typeof tempDir>>;
    let blob = '';
    beforeAll(async () => {
      repo = await tempDir('gitbus-git-names-');
      gitCli(['init', '-q', repo.path]);
      blob = gitCli(['hash-object', '-w', '--stdin'], repo.path, 'x\n').trim();
    });
    afterAll(() => repo.cleanup());

    it('agrees with git update-index (verify_path) on every name above', () => {
      for (const name of [...REFUSED, ...ALLOWED]) {
        const r = spawnSync('git', ['-c', 'core.protectNTFS=true', '-c', 'core.protectHFS=true', 'update-index', '--add', '--cacheinfo', `100644,${blob},d/${name}/f`], { cwd: repo.path, encoding: 'utf8', timeout: 10_000 });
        expect(r.status === 0 ? 'taken' : 'refused', `${JSON.stringify(name)}: ${r.stderr}`).toBe(isGitDirName(name) ? 'refused' : 'taken');
      }
    });
  });
});
