import { describe, it, expect, afterAll, beforeAll } from 'vitest';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gitbus, json, tempDir } from '../helpers/cli.js';
import { git, gitOk } from '../helpers/person-git.js';
import { makeBus } from '../helpers/bus.js';

const VALID = '---\n# yaml-language-server: $schema=../schemas/handoff.schema.json\ntitle: Written in an editor\nlabels: []\n---\n## Task\n\nCheck the thing.\n';
const NO_COMMAND = '---\ntitle: Shell without a command\nrunner: shell\n---\n';

interface InstallJson {
  top: string;
  hooksDir: string;
  cli: { node: string; script: string };
  hooks: { name: string; path: string; action: string; previous?: string }[];
}
interface UninstallJson {
  hooksDir: string;
  hooks: { name: string; path: string; action: string }[];
}

describe('git hooks in a person\'s clone of the bus', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let work: string;

  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha' });
    work = join(bus.dir, 'person');
    await gitOk(['clone', '-q', bus.remote, work]);
    await gitOk(['config', 'pull.rebase', 'false'], work);
    const r = await gitbus(['hooks', 'install'], { cwd: work });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('pre-commit');
  });
  afterAll(async () => bus?.cleanup());

  it('pre-commit refuses invalid staged bus files with path, field and fix, and lints the index, not the work tree', async () => {
    const before = await gitOk(['rev-parse', 'HEAD'], work);
    await mkdir(join(work, 'handoffs'), { recursive: true });
    await writeFile(join(work, 'handoffs', 'by-hand-1.md'), NO_COMMAND);
    await gitOk(['add', 'handoffs/by-hand-1.md'], work);
    const refused = await git(['commit', '-m', 'dispatch by hand'], work);
    expect(refused.code).not.toBe(0);
    expect(refused.out).toContain('error: handoffs/by-hand-1.md (command):');
    expect(refused.out).toContain('fix:');
    expect(refused.out).toContain('commit refused');
    expect(await gitOk(['rev-parse', 'HEAD'], work)).toBe(before);

    // Fixed in the work tree but not staged: what would be committed is still invalid.
    await writeFile(join(work, 'handoffs', 'by-hand-1.md'), VALID);
    const unstaged = await git(['commit', '-m', 'dispatch by hand'], work);
    expect(unstaged.code).not.toBe(0);
    expect(unstaged.out).toContain('handoffs/by-hand-1.md (command)');

    // `git commit -a` hands the hook a temporary index: that one is linted, and files outside the bus are ignored.
    await writeFile(join(work, 'notes.md'), '---\nnot: [a bus file\n');
    await gitOk(['add', 'notes.md'], work);
    await gitOk(['add', 'handoffs/by-hand-1.md'], work);
    await writeFile(join(work, 'handoffs', 'by-hand-1.md'), NO_COMMAND.replace('Shell', 'Unstaged shell'));
    const viaAll = await git(['commit', '-a', '-m', 'all of it'], work);
    expect(viaAll.code).not.toBe(0);
    expect(viaAll.out).toContain('handoffs/by-hand-1.md (command)');
    await writeFile(join(work, 'handoffs', 'by-hand-1.md'), VALID);
  });

  it('a valid commit goes through, post-commit pushes it, and a node sees the task', async () => {
    const ok = await git(['commit', '-a', '-m', 'dispatch by hand'], work);
    expect(ok.code, ok.out).toBe(0);
    expect(ok.out).toContain('gitbus: pushed main to origin/main');
    expect(ok.out).not.toContain('error:');
    expect(await gitOk(['--git-dir', bus.remote, 'rev-parse', 'main'])).toBe(await gitOk(['rev-parse', 'HEAD'], work));

    const status = json<{ tasks: { id: string; state: string; title: string }[]; problems: unknown[] }>(await gitbus(['status', '--json'], { home: bus.home('alpha') }));
    expect(status.tasks).toContainEqual(expect.objectContaining({ id: 'by-hand-1', state: 'pending', title: 'Written in an editor' }));
    expect(status.problems).toEqual([]);
  });

  it('when the remote moved, the commit stays and post-commit says how to fix it; git pull --rebase then lists the responses and pushes (post-rewrite)', async () => {
    const moved = await bus.dispatch('alpha', ['pushed by a node in between']);
    // A response arrives in the same pull, to be listed by post-rewrite (a rebase runs no post-merge).
    expect((await gitbus(['claim', moved], { home: bus.home('alpha') })).code).toBe(0);
    expect((await gitbus(['respond', moved, '--status', 'failed', '--summary', 'no'], { home: bus.home('alpha') })).code).toBe(0);
    const remoteBefore = await gitOk(['--git-dir', bus.remote, 'rev-parse', 'main']);
    await writeFile(join(work, 'handoffs', 'by-hand-2.md'), '---\ntitle: second by hand\n---\n');
    await gitOk(['add', 'handoffs/by-hand-2.md'], work);
    const r = await git(['commit', '-m', 'another by hand'], work);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('rejected');
    expect(r.out).toContain('git pull --rebase');
    expect(r.out).toContain('never force-push');
    expect(await gitOk(['log', '-1', '--format=%s'], work)).toBe('another by hand');
    expect(await gitOk(['--git-dir', bus.remote, 'rev-parse', 'main'])).toBe(remoteBefore);

    const rebase = await git(['pull', '--rebase'], work);
    expect(rebase.code, rebase.out).toBe(0);
    expect(rebase.out).not.toContain('not pushed'); // post-commit keeps quiet while the rebase replays commits
    expect(rebase.out).toContain('gitbus: 1 new response(s):');
    expect(rebase.out).toMatch(new RegExp(`${moved} +failed +by alpha +pushed by a node in between`));
    expect(rebase.out).toContain('gitbus: pushed main to origin/main');
    expect(await gitOk(['--git-dir', bus.remote, 'rev-parse', 'main'])).toBe(await gitOk(['rev-parse', 'HEAD'], work));
    const status = json<{ tasks: { id: string }[] }>(await gitbus(['status', '--json'], { home: bus.home('alpha') }));
    expect(status.tasks.map((t) => t.id)).toEqual(expect.arrayContaining([moved, 'by-hand-1', 'by-hand-2']));

    // An amend rewrites too, but brings nothing and pushes nothing by itself (post-commit does, and is refused).
    const amend = await git(['commit', '--amend', '-m', 'another by hand, amended'], work);
    expect(amend.code, amend.out).toBe(0);
    expect(amend.out).not.toContain('new response');
    await gitOk(['reset', '-q', '--hard', 'origin/main'], work);
  });

  it('post-merge: git pull prints the responses that arrived, with status, node and title', async () => {
    const quiet = await git(['pull'], work);
    expect(quiet.code, quiet.out).toBe(0);
    expect(quiet.out).not.toContain('new response');

    expect((await gitbus(['claim', 'by-hand-1'], { home: bus.home('alpha') })).code).toBe(0);
    const resp = await gitbus(['respond', 'by-hand-1', '--status', 'succeeded', '--summary', 'all good'], { home: bus.home('alpha') });
    expect(resp.code, resp.stderr).toBe(0);
    const pull = await git(['pull'], work);
    expect(pull.code, pull.out).toBe(0);
    expect(pull.out).toContain('gitbus: 1 new response(s):');
    expect(pull.out).toMatch(/by-hand-1 +succeeded +by alpha +Written in an editor/);
    expect(existsSync(join(work, 'responses', 'by-hand-1.md'))).toBe(true);
  });

  it('pre-commit refuses a symbolic link or a folder at a bus file\'s path, as gitbus lint does', async () => {
    const before = await gitOk(['rev-parse', 'HEAD'], work);
    await symlink('../gitbus.yaml', join(work, 'handoffs', 'link-1.md'));
    await mkdir(join(work, 'handoffs', 'folder-1.md'));
    await writeFile(join(work, 'handoffs', 'folder-1.md', 'a'), VALID);
    await writeFile(join(work, 'handoffs', 'folder-1.md', 'b'), VALID);
    await gitOk(['add', 'handoffs'], work);
    const refused = await git(['commit', '-m', 'not files'], work);
    expect(refused.code, refused.out).not.toBe(0);
    expect(refused.out).toContain('error: handoffs/link-1.md: it is a symbolic link; gitbus never follows links');
    expect(refused.out).toContain('error: handoffs/folder-1.md: it is a folder; handoffs/ holds only files');
    // One problem for the folder, however many files it holds.
    expect(refused.out.split('handoffs/folder-1.md: it is a folder').length).toBe(2);
    expect(refused.out).toContain('commit refused: 2 error(s)');
    expect(await gitOk(['rev-parse', 'HEAD'], work)).toBe(before);

    // gitbus lint on the checkout says the same, and reads neither the link's target nor the folder.
    const lint = await gitbus(['lint', work]);
    expect(lint.code, lint.stderr).toBe(8);
    expect(lint.stdout).toContain('error: handoffs/link-1.md: it is a symbolic link');
    expect(lint.stdout).toContain('error: handoffs/folder-1.md: it is a folder');

    await gitOk(['rm', '-r', '-q', '--cached', 'handoffs/link-1.md', 'handoffs/folder-1.md'], work);
    await rm(join(work, 'handoffs', 'link-1.md'));
    await rm(join(work, 'handoffs', 'folder-1.md'), { recursive: true });
  });

  it('pre-commit refuses changing or deleting a bus file that was valid in HEAD (written once); removing an invalid one is allowed', async () => {
    const before = await gitOk(['rev-parse', 'HEAD'], work);
    const response = join(work, 'responses', 'by-hand-1.md');
    await writeFile(response, `${await readFile(response, 'utf8')}\nEdited afterwards.\n`);
    const edited = await git(['commit', '-a', '-m', 'edit a response'], work);
    expect(edited.code, edited.out).not.toBe(0);
    expect(edited.out).toContain('error: responses/by-hand-1.md: the commit changes it, but a bus file on main is written once');
    expect(edited.out).toContain('git restore --staged --worktree responses/by-hand-1.md');
    expect(edited.out).toContain('commit refused: 1 error(s)');
    await gitOk(['restore', '--staged', '--worktree', 'responses/by-hand-1.md'], work);

    await gitOk(['rm', '-q', 'handoffs/by-hand-2.md'], work);
    const deleted = await git(['commit', '-m', 'remove a task'], work);
    expect(deleted.code, deleted.out).not.toBe(0);
    expect(deleted.out).toContain('error: handoffs/by-hand-2.md: the commit deletes it');
    expect(deleted.out).toContain('git restore --staged --worktree handoffs/by-hand-2.md');
    expect(deleted.out).toContain('gitbus cancel by-hand-2');
    expect(deleted.out).toContain('gitbus archive');
    await gitOk(['restore', '--staged', '--worktree', 'handoffs/by-hand-2.md'], work);
    expect(await gitOk(['rev-parse', 'HEAD'], work)).toBe(before);
    expect(await gitOk(['status', '--porcelain'], work)).toBe('');

    // A handoff that does not parse got in past the hook: a person removing it repairs the bus (PROTOCOL §4).
    await writeFile(join(work, 'handoffs', 'broken-1.md'), '---\ntitle: [unclosed\n---\n');
    await gitOk(['add', 'handoffs/broken-1.md'], work);
    expect((await git(['commit', '--no-verify', '-m', 'broken'], work)).code).toBe(0);
    await gitOk(['rm', '-q', 'handoffs/broken-1.md'], work);
    const repaired = await git(['commit', '-m', 'remove the broken handoff'], work);
    expect(repaired.code, repaired.out).toBe(0);
    expect(repaired.out).not.toContain('error:');
    expect(repaired.out).toContain('gitbus: pushed main to origin/main');
  });

  it('pre-commit lets a merge bring the removal of a valid bus file (an archive elsewhere) when the person commits it', async () => {
    const archiver = join(bus.dir, 'archiver');
    await gitOk(['clone', '-q', bus.remote, archiver]);
    await gitOk(['rm', '-q', 'handoffs/by-hand-2.md'], archiver);
    await gitOk(['commit', '-q', '-m', 'archive by-hand-2'], archiver);
    await gitOk(['push', '-q'], archiver);

    await writeFile(join(work, 'handoffs', 'by-hand-3.md'), VALID);
    await gitOk(['add', 'handoffs/by-hand-3.md'], work);
    expect((await git(['commit', '-m', 'third by hand'], work)).out).toContain('rejected');
    await gitOk(['pull', '-q', '--no-rebase', '--no-commit'], work);
    const merged = await git(['commit', '-m', 'merge'], work);
    expect(merged.code, merged.out).toBe(0);
    expect(merged.out).not.toContain('error:');
    expect(merged.out).toContain('gitbus: pushed main to origin/main');
    expect(existsSync(join(work, 'handoffs', 'by-hand-2.md'))).toBe(false);
  });

  it('install honours core.hooksPath and worktrees; reinstalling changes nothing', async () => {
    const again = json<InstallJson>(await gitbus(['hooks', 'install', '--json'], { cwd: work }));
    expect(again.hooks.map((h) => h.action)).toEqual(['unchanged', 'unchanged', 'unchanged', 'unchanged']);

    const tree = join(bus.dir, 'tree');
    await gitOk(['worktree', 'add', '-q', '-b', 'side', tree], work);
    const viaTree = json<InstallJson>(await gitbus(['hooks', 'install', '--json', '--dir', tree]));
    expect(viaTree.hooksDir).toBe(await realpath(join(work, '.git', 'hooks')));

    const other = join(bus.dir, 'hooks-path');
    await gitOk(['clone', '-q', bus.remote, other]);
    await gitOk(['config', 'core.hooksPath', '.githooks'], other);
    const r = await gitbus(['hooks', 'install', '--json', '--dir', other]);
    expect(r.code, r.stderr).toBe(0);
    const installed = json<InstallJson>(r);
    expect(installed.hooksDir).toBe(join(await realpath(other), '.githooks'));
    expect(existsSync(join(other, '.githooks', 'pre-commit'))).toBe(true);
    expect(existsSync(join(other, '.git', 'hooks', 'pre-commit'))).toBe(false);
  });
});

describe('hooks install and uninstall', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let clone: string;
  let hooksDir: string;
  const FOREIGN = '#!/bin/sh\necho "foreign pre-commit ran" >&2\nexit 0\n';

  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha' });
    clone = join(bus.dir, 'other');
    await gitOk(['clone', '-q', bus.remote, clone]);
    hooksDir = join(clone, '.git', 'hooks');
    await writeFile(join(hooksDir, 'pre-commit'), FOREIGN);
    await chmod(join(hooksDir, 'pre-commit'), 0o755);
  });
  afterAll(async () => bus?.cleanup());

  it('refuses to replace a hook gitbus did not write, and writes nothing', async () => {
    const r = await gitbus(['hooks', 'install', '--dir', clone]);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain(join(hooksDir, 'pre-commit'));
    expect(r.stderr).toContain('--force');
    const j = json<{ error: { code: string; fix: string; data: { paths: string[] } } }>(await gitbus(['hooks', 'install', '--dir', clone, '--json']));
    expect(j.error).toMatchObject({ code: 'HOOK_EXISTS', data: { paths: [join(hooksDir, 'pre-commit')] } });
    expect(existsSync(join(hooksDir, 'post-commit'))).toBe(false);
    expect(await readFile(join(hooksDir, 'pre-commit'), 'utf8')).toBe(FOREIGN);
  });

  it('--force keeps the old hook as <name>.pre-gitbus and runs it first (--json)', async () => {
    const r = await gitbus(['hooks', 'install', '--dir', clone, '--force', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = json<InstallJson>(r);
    expect(j.top).toBe(await realpath(clone));
    expect(j.cli.node).toBe(process.execPath);
    expect(j.cli.script).toMatch(/bin\/gitbus\.js$/);
    expect(j.hooks.map((h) => [h.name, h.action])).toEqual([
      ['pre-commit', 'chained'],
      ['post-commit', 'installed'],
      ['post-merge', 'installed'],
      ['post-rewrite', 'installed'],
    ]);
    expect(j.hooks[0]?.previous).toBe(join(j.hooksDir, 'pre-commit.pre-gitbus'));
    expect(await readFile(join(hooksDir, 'pre-commit.pre-gitbus'), 'utf8')).toBe(FOREIGN);
    const script = await readFile(join(hooksDir, 'pre-commit'), 'utf8');
    expect(script).toMatch(/^#!\/bin\/sh\n# gitbus-hook: pre-commit\n/);
    expect(script).toContain(`gitbus_cli='${j.cli.script}'`);

    await mkdir(join(clone, 'handoffs'), { recursive: true });
    await writeFile(join(clone, 'handoffs', 'chained.md'), NO_COMMAND);
    await gitOk(['add', 'handoffs/chained.md'], clone);
    const refused = await git(['commit', '-m', 'chained'], clone);
    expect(refused.code).not.toBe(0);
    expect(refused.out).toContain('foreign pre-commit ran');
    expect(refused.out).toContain('handoffs/chained.md (command)');

    // A second --force leaves the kept hook alone: gitbus's own hooks are simply rewritten.
    const twice = json<InstallJson>(await gitbus(['hooks', 'install', '--dir', clone, '--force', '--json']));
    expect(twice.hooks.map((h) => h.action)).toEqual(['unchanged', 'unchanged', 'unchanged', 'unchanged']);
    expect(await readFile(join(hooksDir, 'pre-commit.pre-gitbus'), 'utf8')).toBe(FOREIGN);
  });

  it('uninstall removes only gitbus\'s hooks and puts the old one back (--json)', async () => {
    const r = await gitbus(['hooks', 'uninstall', '--dir', clone, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = json<UninstallJson>(r);
    expect(j.hooks.map((h) => [h.name, h.action])).toEqual([
      ['pre-commit', 'restored'],
      ['post-commit', 'removed'],
      ['post-merge', 'removed'],
      ['post-rewrite', 'removed'],
    ]);
    expect(await readFile(join(hooksDir, 'pre-commit'), 'utf8')).toBe(FOREIGN);
    expect(existsSync(join(hooksDir, 'pre-commit.pre-gitbus'))).toBe(false);
    expect(existsSync(join(hooksDir, 'post-commit'))).toBe(false);

    const again = await gitbus(['hooks', 'uninstall', '--dir', clone]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/pre-commit +not gitbus's hook: left alone/);
    expect(again.stdout).toMatch(/post-commit +not installed/);
    expect(await readFile(join(hooksDir, 'pre-commit'), 'utf8')).toBe(FOREIGN);
  });

  it('says what is wrong outside a git repository or a bus checkout', async () => {
    const dir = await tempDir();
    try {
      const none = await gitbus(['hooks', 'install', '--dir', dir.path, '--json']);
      expect(none.code).toBe(7);
      expect(json<{ error: { code: string; fix: string } }>(none).error).toMatchObject({ code: 'NOT_A_REPO', fix: expect.stringContaining('git clone') });
      expect((await gitbus(['hooks', 'uninstall', '--dir', dir.path])).code).toBe(7);

      await gitOk(['init', '-q', dir.path]);
      const plain = await gitbus(['hooks', 'install'], { cwd: dir.path });
      expect(plain.code).toBe(7);
      expect(plain.stderr).toContain('no gitbus.yaml at its top');
      expect(plain.stderr).toContain('fix:');
      expect(json<{ error: { code: string } }>(await gitbus(['hooks', 'install', '--json'], { cwd: dir.path })).error.code).toBe('NOT_A_BUS_CHECKOUT');
      expect(existsSync(join(dir.path, '.git', 'hooks', 'pre-commit'))).toBe(false);

      const missing = await gitbus(['hooks', 'install', '--dir', join(dir.path, 'nope')]);
      expect(missing.code).toBe(2);
    } finally {
      await dir.cleanup();
    }
  });
});
