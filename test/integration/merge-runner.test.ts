import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { integrate, parseMergeTree } from '../../watcher/runners/merge.js';
import { tempDir } from '../helpers/cli.js';

/**
 * The merge runner's core on real repositories: a work checkout makes the base and the workstream branches and
 * pushes them to a bare repository, which is what the node's cached clone is; integrate() works on that alone.
 */
describe('merge runner: integrate() on a bare repository', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let bare: string;
  let work: string;
  let base: string;
  const savedGlobal = process.env['GIT_CONFIG_GLOBAL'];
  const tip: Record<string, string> = {};
  // No identity anywhere but where a test sets one: the runner must bring its own.
  const env = { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: 'dev', GIT_AUTHOR_EMAIL: 'dev@example.invalid', GIT_COMMITTER_NAME: 'dev', GIT_COMMITTER_EMAIL: 'dev@example.invalid' };
  const g = (args: string[], cwd = work) => execFileSync('git', args, { cwd, env, encoding: 'utf8' }).trim();
  const bareGit = (args: string[]) => execFileSync('git', ['--git-dir', bare, ...args], { env, encoding: 'utf8' }).trim();
  const refs = () => bareGit(['for-each-ref', '--format=%(refname) %(objectname)']) + '\n' + bareGit(['symbolic-ref', 'HEAD']);

  /** A branch from the base that changes `file` to `content` (lines), committed and pushed. */
  const branch = (name: string, edits: Record<string, string>) => {
    g(['checkout', '-q', '-b', name, base]);
    for (const [file, content] of Object.entries(edits)) writeFileSync(join(work, file), content);
    g(['add', '-A']);
    g(['commit', '-q', '-m', `${name}: work`]);
    g(['push', '-q', 'origin', name]);
    tip[name] = g(['rev-parse', 'HEAD']);
  };

  beforeAll(async () => {
    process.env['GIT_CONFIG_GLOBAL'] = '/dev/null';
    dir = await tempDir('gitbus-merge-');
    bare = join(dir.path, 'project.git');
    work = join(dir.path, 'work');
    execFileSync('git', ['init', '-q', '--bare', '-b', 'main', bare], { env });
    execFileSync('git', ['init', '-q', '-b', 'main', work], { env });
    g(['remote', 'add', 'origin', bare]);
    const lines = Array.from({ length: 30 }, (_, i) => `line ${i}`);
    writeFileSync(join(work, 'shared.txt'), `${lines.join('\n')}\n`);
    writeFileSync(join(work, 'README'), 'base\n');
    g(['add', '-A']);
    g(['commit', '-q', '-m', 'base']);
    g(['push', '-q', 'origin', 'main']);
    base = g(['rev-parse', 'HEAD']);
    const edit = (i: number, text: string) => `${lines.map((l, j) => (j === i ? text : l)).join('\n')}\n`;
    // Four workstreams that touch different files, or different parts of the same file: all merge cleanly.
    branch('feat/core', { 'core.txt': 'core\n' });
    branch('feat/api', { 'api.txt': 'api\n', 'shared.txt': edit(2, 'api was here') });
    branch('feat/ui', { 'ui.txt': 'ui\n', 'shared.txt': edit(27, 'ui was here') });
    branch('feat/tests', { 'tests.txt': 'tests\n' });
    // Two that change the same line of shared.txt as feat/api, and one of them README as well.
    branch('feat/clash', { 'shared.txt': edit(2, 'clash was here'), 'README': 'clash\n' });
    branch('feat/other', { 'shared.txt': edit(2, 'other was here'), 'other.txt': 'other\n' });
  });
  afterAll(async () => {
    if (savedGlobal === undefined) delete process.env['GIT_CONFIG_GLOBAL'];
    else process.env['GIT_CONFIG_GLOBAL'] = savedGlobal;
    await dir?.cleanup();
  });

  const of = (...names: string[]) => names.map((name) => ({ name, commit: tip[name] as string }));

  it('four branches merge cleanly in order: the result has all four changes and four merge commits', async () => {
    const before = refs();
    const r = await integrate({ gitDir: bare, baseCommit: base, branches: of('feat/core', 'feat/api', 'feat/ui', 'feat/tests'), into: 'feat/integration', node: 'box' });
    expect(r).toMatchObject({ ok: true, merged: ['feat/core', 'feat/api', 'feat/ui', 'feat/tests'], conflicts: [], upToDate: [] });
    const head = r.head as string;
    expect(bareGit(['ls-tree', '--name-only', head]).split('\n').sort()).toEqual(['README', 'api.txt', 'core.txt', 'shared.txt', 'tests.txt', 'ui.txt']);
    const shared = bareGit(['show', `${head}:shared.txt`]);
    expect(shared).toContain('api was here');
    expect(shared).toContain('ui was here');
    // First-parent history: four merges on top of the base, in plan order, each with the branch as second parent.
    const merges = bareGit(['log', '--first-parent', '--format=%P|%s|%an <%ae>', `${base}..${head}`]).split('\n').reverse();
    expect(merges.map((m) => m.split('|')[1])).toEqual(['feat/core', 'feat/api', 'feat/ui', 'feat/tests'].map((b) => `Merge ${b} into feat/integration`));
    expect(merges.map((m) => m.split('|')[0]?.split(' ')[1])).toEqual([tip['feat/core'], tip['feat/api'], tip['feat/ui'], tip['feat/tests']]);
    expect(merges.every((m) => m.endsWith('|gitbus box <box@gitbus.invalid>'))).toBe(true);
    expect(bareGit(['rev-list', '--count', '--merges', `${base}..${head}`])).toBe('4');
    expect(refs()).toBe(before);
  });

  it('conflicting branches are reported with their files, clean ones still merge, and no ref is written', async () => {
    const before = refs();
    const r = await integrate({ gitDir: bare, baseCommit: base, branches: of('feat/core', 'feat/api', 'feat/clash', 'feat/ui', 'feat/other'), into: 'feat/integration' });
    expect(r.ok).toBe(false);
    expect(r.head).toBeNull();
    // clash and other each conflict with api on shared.txt; clash's README change merges, so only shared.txt is named.
    expect(r.conflicts).toEqual([
      { branch: 'feat/clash', files: ['shared.txt'] },
      { branch: 'feat/other', files: ['shared.txt'] },
    ]);
    expect(r.merged).toEqual(['feat/core', 'feat/api', 'feat/ui']);
    expect(refs()).toBe(before);
  });

  it('a conflict on a file with others reports each file; a branch already merged makes no commit', async () => {
    const r = await integrate({ gitDir: bare, baseCommit: tip['feat/api'] as string, branches: of('feat/clash', 'feat/api'), into: 'x/integration' });
    expect(r.conflicts).toEqual([{ branch: 'feat/clash', files: ['shared.txt'] }]);
    expect(r.upToDate).toEqual(['feat/api']);
    expect(r.merged).toEqual(['feat/api']);
  });

  it("uses the repository's own identity when it has one", async () => {
    bareGit(['config', 'user.name', 'Repo Owner']);
    bareGit(['config', 'user.email', 'owner@example.invalid']);
    try {
      const r = await integrate({ gitDir: bare, baseCommit: base, branches: of('feat/core'), node: 'box' });
      expect(bareGit(['log', '-1', '--format=%an <%ae>|%cn <%ce>', r.head as string])).toBe('Repo Owner <owner@example.invalid>|Repo Owner <owner@example.invalid>');
    } finally {
      bareGit(['config', '--unset', 'user.name']);
      bareGit(['config', '--unset', 'user.email']);
    }
  });

  it('parses merge-tree -z output: tree, then conflicted paths once each until an empty one', () => {
    expect(parseMergeTree('abc\0a b\0dir/c\0a b\0\x001\0a b\0Auto-merging\0')).toEqual({ tree: 'abc', files: ['a b', 'dir/c'] });
    expect(parseMergeTree('abc\0')).toEqual({ tree: 'abc', files: [] });
  });
});
