import { rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { archiveIndexProblems, archiveRootProblems } from '../../bus/ops/doctor-archive.js';
import { gitbus, gitCli, json } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { claimAndRespond, dispatchTask, waitInProcess } from '../helpers/in-process.js';
import { changeArchivedFile } from '../helpers/archive-branch.js';

interface Check {
  name: string;
  status: string;
  detail: string;
  fix: string | null;
}

/**
 * A damaged archive branch (a month folder or the id index replaced by a file, a link at a month's place) hides
 * every task archived there: `show` says "no task" and tasks after them stay blocked. doctor says so, with the
 * commit to go back to (untrusted-input finding F24).
 */
describe('a damaged archive', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  const layout = async (): Promise<Check | undefined> => json<{ checks: Check[] }>(await gitbus(['doctor', '--json'], { home: bus.home('alpha') })).checks.find((c) => c.name === 'archive.layout');

  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha' });
    id = await bus.dispatch('alpha', ['done long ago']);
    await claimAndRespond(bus.home('alpha'), id, { status: 'succeeded', summary: 'ok' });
    const a = await gitbus(['archive', '--all'], { home: bus.home('alpha') });
    expect(a.code, a.stderr).toBe(0);
    good = gitCli(['--git-dir', bus.remote, 'rev-parse', 'archive']).trim();
  });
  afterAll(async () => bus?.cleanup());
  const git = (args: string[], input?: string) => gitCli(['--git-dir', bus.remote, ...args], undefined, input).trim();
  let good = '';
  let id = '';

  it('is a failed archive.layout in doctor naming what is wrong; a sound one is ok', async () => {
    expect(await layout()).toMatchObject({ status: 'ok' });
    // Someone pushes an archive commit whose month folder and index are files.
    const root = git(['ls-tree', 'archive']).split('\n');
    const month = root.map((l) => l.split('\t')[1] ?? '').find((n) => /^\d{4}-\d{2}$/.test(n));
    const junk = git(['hash-object', '-w', '--stdin'], 'junk\n');
    const damaged = root.map((l) => (l.endsWith(`\t${month}`) || l.endsWith('\tids') ? `100644 blob ${junk}\t${l.split('\t')[1]}` : l)).join('\n');
    const tree = git(['mktree'], `${damaged}\n`);
    const commit = git(['commit-tree', tree, '-p', 'archive', '-m', 'damage']);
    git(['update-ref', 'refs/heads/archive', commit]);

    const check = await layout();
    expect(check).toMatchObject({ status: 'fail', detail: expect.stringContaining(`"${month}" is a file, not a folder`), fix: expect.stringContaining('git push --force') });
    expect(check?.detail).toContain('"ids" is a file, not a folder');
  });

  it('a shard of the id index that is not a folder fails too; a stray name in ids is a warning', async () => {
    // The sound archive again, then a commit whose task's shard is a file.
    git(['update-ref', 'refs/heads/archive', good]);
    const ids = git(['ls-tree', `${good}:ids`]).split('\n');
    const shard = ids.map((l) => l.split('\t')[1] ?? '').find((n) => /^[0-9a-f]{2}$/.test(n)) ?? '';
    const junk = git(['hash-object', '-w', '--stdin'], 'junk\n');
    const damagedIds = git(['mktree'], `${ids.map((l) => (l.endsWith(`\t${shard}`) ? `100644 blob ${junk}\t${shard}` : l)).join('\n')}\n`);
    const root = git(['ls-tree', good]).split('\n').map((l) => (l.endsWith('\tids') ? `040000 tree ${damagedIds}\tids` : l)).join('\n');
    git(['update-ref', 'refs/heads/archive', git(['commit-tree', git(['mktree'], `${root}\n`), '-p', good, '-m', 'damage a shard'])]);
    expect(await layout()).toMatchObject({ status: 'fail', detail: expect.stringContaining(`"ids/${shard}" is a file, not a folder`), fix: expect.stringContaining('gitbus archive --reindex') });
    // The fix it names: the shard made anew from the month folders, in one commit on top.
    const damagedTip = git(['rev-parse', 'archive']);
    const re = await gitbus(['archive', '--reindex', '--json'], { home: bus.home('alpha') });
    expect(re.code, re.stderr).toBe(0);
    expect(json(re)).toMatchObject({ indexed: 0, repaired: 1 });
    expect(git(['rev-parse', 'archive^'])).toBe(damagedTip);
    expect(git(['ls-tree', `archive:ids/${shard}`])).toMatch(new RegExp(`^040000 tree [0-9a-f]{40}\t${id}[.][0-9]{4}-[0-9]{2}$`));
    expect(await layout()).toMatchObject({ status: 'ok' });
    const shown = await gitbus(['show', id, '--json'], { home: bus.home('alpha') });
    expect(shown.code, shown.stderr).toBe(0);
    expect(json(shown)).toMatchObject({ id, state: 'succeeded', archived: expect.stringMatching(/^[0-9]{4}-[0-9]{2}$/) });

    // A stray name beside the shards: read by nobody.
    const strayIds = git(['mktree'], `${[...ids, `100644 blob ${junk}\tnotes.txt`].join('\n')}\n`);
    const root2 = git(['ls-tree', good]).split('\n').map((l) => (l.endsWith('\tids') ? `040000 tree ${strayIds}\tids` : l)).join('\n');
    git(['update-ref', 'refs/heads/archive', git(['commit-tree', git(['mktree'], `${root2}\n`), '-p', good, '-m', 'a stray file'])]);
    expect(await layout()).toMatchObject({ status: 'warn', detail: expect.stringContaining('"ids/notes.txt"') });
    git(['update-ref', 'refs/heads/archive', good]);
    expect(await layout()).toMatchObject({ status: 'ok' });
  });

  it('names links and names outside the layout (pure)', () => {
    expect(archiveRootProblems([
      { path: '2026-11', type: 'blob', mode: '120000' },
      { path: 'notes.txt', type: 'blob', mode: '100644' },
      { path: 'signatures', type: 'tree', mode: '040000' },
      { path: '2026-12', type: 'tree', mode: '040000' },
    ])).toEqual({ damaged: ['"2026-11" is a symbolic link, not a folder'], stray: ['"notes.txt"'] });
    expect(archiveIndexProblems([
      { path: '0a', type: 'tree', mode: '040000' },
      { path: 'ff', type: 'blob', mode: '120000' },
      { path: 'complete', type: 'tree', mode: '040000' },
      { path: 'ABC', type: 'tree', mode: '040000' },
    ])).toEqual({ damaged: ['"ids/ff" is a symbolic link, not a folder'], stray: ['"ids/complete" is a folder, not a file', '"ids/ABC"'] });
  });
});

/**
 * An archived task whose folder no longer says how it ended (its response rewritten into something that does not
 * parse, or deleted) is invalid, not failed or cancelled: a task after it stays blocked (PROTOCOL.md §4) instead of
 * being cancelled for good for an end nobody wrote, and show names the damaged file.
 */
describe('an archived task whose end is damaged', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let home = '';
  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha', initArgs: ['--runner', 'shell'] });
    home = bus.home('alpha');
  });
  afterAll(async () => bus?.cleanup());

  /** A person changes D's response in its month folder and in the id index, with plain git on the archive branch. */
  const damage = (dep: string, name: string, change: (file: string) => void): string => changeArchivedFile(bus.remote, join(bus.dir, name), dep, 'response.md', change);

  const cases: [string, (file: string) => void, (month: string, dep: string) => { path: string; reason: RegExp }][] = [
    ['rewritten into what does not parse', (f) => writeFileSync(f, '---\ngarbage: [\n---\n'), (month, dep) => ({ path: `archive:${month}/${dep}/response.md`, reason: /./ })],
    ['deleted', (f) => rmSync(f), (month, dep) => ({ path: `archive:${month}/${dep}/`, reason: /neither response.md nor cancel.md/ })],
    // Read whole, a blob over the object cap made show, status, the watcher and every lookup of it fail (OBJECT_TOO_LARGE).
    // Read through, the link would make the archive say how the task ended with the bytes of a file on the reader's machine.
    ['linked to a file elsewhere', (f) => { rmSync(f); symlinkSync('/etc/passwd', f); }, (month, dep) => ({ path: `archive:${month}/${dep}/response.md`, reason: /^response\.md is a symbolic link, not a file: gitbus never reads one \(nor follows a link\)/ })],
    ['replaced by 65 MiB', (f) => writeFileSync(f, 'x'.repeat(65 * 1024 * 1024)), (month, dep) => ({ path: `archive:${month}/${dep}/response.md`, reason: /the file is 68157440 bytes, more than the limit/ })],
  ];
  it.each(cases)('its response %s: show says invalid and names the file; the task after it stays blocked', async (name, change, expected) => {
    const dep = await dispatchTask(home, { title: `dependency (${name})`, command: 'true' });
    await claimAndRespond(home, dep, { status: 'succeeded' });
    expect((await gitbus(['archive', '--all'], { home })).code).toBe(0);
    const after = await dispatchTask(home, { title: `after (${name})`, command: 'true', after: [dep] });
    const month = damage(dep, name.split(' ')[0] ?? 'x', change);

    const w = await gitbus(['watch', '--once', '--json'], { home });
    expect(w.code, w.stderr).toBe(0);
    const shownText = await gitbus(['show', dep, '--json'], { home });
    const shown = json<{ state: string; summary: { problems: { path: string; reason: string }[] } }>(shownText);
    expect(shown.state).toBe('invalid');
    expect(shownText.stdout).not.toContain('root:x:0');
    const want = expected(month, dep);
    expect(shown.summary.problems).toContainEqual(expect.objectContaining({ path: want.path, reason: expect.stringMatching(want.reason) }));
    const t = json<{ state: string; files: { path: string }[] }>(await gitbus(['show', after, '--json'], { home }));
    expect(t.state).toBe('blocked');
    expect(t.files.map((f) => f.path)).not.toContain(`cancels/${after}.md`);
    // status asks the archive for the dependency's state, as the watchers do.
    const s = json<{ tasks: { id: string; state: string; waitingOn: unknown[] }[] }>(await gitbus(['status', '--json'], { home }));
    expect(s.tasks.find((x) => x.id === after)).toMatchObject({ state: 'blocked', waitingOn: [{ id: dep, state: 'invalid' }] });
    // A wait on it (the MCP wait tool, an agent's) ends at once: an archived task does not change any more.
    expect(await waitInProcess(home, dep, 20_000)).toEqual({ ended: true, state: 'invalid' });
  });
});
