import { type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBus } from '../helpers/bus.js';
import { gitbus, gitCli, json } from '../helpers/cli.js';
import { makeProject, pushHandoffs, showFile } from '../helpers/project.js';
import { startWatcher, type WatcherProcess } from '../helpers/watcher-process.js';
import { until } from '../helpers/wait.js';

/**
 * A result whose branch the project remote refused when the run ended, pushed by its node later (docs/PROTOCOL.md §3a,
 * "A push that lands later"): the response went out with `pushed: false`, and once the remote takes the branch the
 * node publishes `deliveries/<id>.<attempt>.md`, which show, group and resolve fold in. Real git everywhere: a bus
 * on a bare remote, a project whose pre-receive hook refuses pushes while a flag file exists, a watcher process.
 */

const GROUP = 'later';
type Report = { branch: string; headCommit: string; pushed: boolean; pushError?: string; merged?: string[] };
type Shown = { state: string; branch?: { branch: string; pushed: boolean | null; report?: Report; delivered?: { at: string; path: string } }; files: { path: string; text: string }[]; summary: { problems: { path: string; reason: string }[] } | null };
type Group = { resolvedBy: string | null; incomplete: { id: string; pushed: boolean }[] };

describe('a project result whose push lands later', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let home: string;
  let project: ReturnType<typeof makeProject>;
  let gate: string;
  let watcher: WatcherProcess | null = null;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha', initArgs: ['--runner', 'shell'] });
    home = bus.home('alpha');
    project = makeProject(bus.dir);
    // The workstreams' branches, on the project remote before the gate closes: the follow-up merges them.
    gitCli(['push', '-q', 'origin', `main:refs/heads/${GROUP}/one`, `main:refs/heads/${GROUP}/two`], project.checkout);
    gate = join(bus.dir, 'refuse-pushes');
    writeFileSync(gate, '');
    const hook = join(project.remote, 'hooks', 'pre-receive');
    mkdirSync(join(project.remote, 'hooks'), { recursive: true });
    writeFileSync(hook, `#!/bin/sh\nif [ -e ${gate} ]; then echo "pushes are closed today" >&2; exit 1; fi\n`);
    chmodSync(hook, 0o755);
  }, 60_000);

  afterAll(async () => {
    if (watcher) {
      watcher.child.kill('SIGTERM');
      await watcher.exited;
    }
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await bus?.cleanup();
  });

  const show = async (id: string): Promise<Shown> => {
    const r = await gitbus(['show', id, '--json'], { home });
    expect(r.code, r.stderr).toBe(0);
    return json<Shown>(r);
  };
  const group = async (): Promise<Group> => {
    const r = await gitbus(['group', GROUP, '--json'], { home });
    expect(r.code, r.stderr).toBe(0);
    return json<Group>(r);
  };

  it('show, group and resolve say "not pushed" until the node delivers, then read the result as pushed', async () => {
    const baseCommit = project.main();
    // Recent: a result that ended more than archiveAfter (1d) ago is archived by the watcher's housekeeping, and its
    // group then reads it from the archive (a fixed date here made the test fail a day after it was written).
    const at = new Date(Date.now() - 60_000).toISOString();
    const integration = 'later-integration';
    const followUp = 'later-resolve';
    const common = { group: GROUP, repo: project.remote, base: 'main', baseCommit, branch: `${GROUP}/integration`, merge: [`${GROUP}/one`, `${GROUP}/two`] };
    // The fan-out's integration, which ended on a conflict (as a merge runner reports it), and the follow-up that
    // resolves it, run by alpha's watcher: a shell task on the integration's branch.
    pushHandoffs(join(bus.dir, 'person'), bus.remote, [
      { id: integration, frontmatter: { ...common, title: 'Later: integration', runner: 'merge', to: 'ghost' } },
      { id: followUp, frontmatter: { ...common, title: 'Later: resolve merge conflicts', runner: 'shell', to: 'alpha', command: 'echo resolved > resolved.txt' } },
    ]);
    const person = join(bus.dir, 'person');
    mkdirSync(join(person, 'claims'), { recursive: true });
    mkdirSync(join(person, 'responses'), { recursive: true });
    writeFileSync(join(person, 'claims', `${integration}.1.md`), `---\nid: ${integration}\nattempt: 1\nnode: ghost\nclaimed: ${at}\n---\n`);
    writeFileSync(
      join(person, 'responses', `${integration}.md`),
      `---\nid: ${integration}\nstatus: failed\nnode: ghost\nattempt: 1\nfinished: ${at}\nrunner: merge\nreason: 1 of 2 merges conflicts\nproject:\n  repo: ${project.remote}\n  branch: ${GROUP}/integration\n  baseCommit: ${baseCommit}\n  headCommit: ${baseCommit}\n  pushed: false\n  merged: [${GROUP}/one]\n  conflicts:\n    - branch: ${GROUP}/two\n      files: [app.txt]\n---\n`,
    );
    gitCli(['add', '-A'], person);
    gitCli(['commit', '-q', '-m', 'the integration conflicted'], person);
    gitCli(['push', '-q', 'origin', 'HEAD:main'], person);

    watcher = startWatcher(home, ['--poll', '1s', '--retry', '1s'], children);
    const w = watcher;
    await until('the follow-up\'s response', () => w.events().some((e) => e.type === 'delivered' && e.id === followUp), 90_000, w.stderr);

    // Before the push lands: the response's word, everywhere.
    const before = await show(followUp);
    expect(before.state).toBe('succeeded');
    expect(before.branch).toMatchObject({ branch: `${GROUP}/integration`, pushed: false });
    expect(before.branch?.report?.pushError).toContain('pushes are closed today');
    expect(before.branch?.delivered).toBeUndefined();
    expect((await group()).resolvedBy).toBeNull();
    const text = await gitbus(['show', followUp], { home });
    expect(text.stdout).toContain('not pushed yet');
    // A resolve may be dispatched meanwhile (a manual one, which no watcher claims): nothing says the result reached
    // the remote. Cancelled, so that it is not a follow-up under way.
    const early = await gitbus(['resolve', integration, '--runner', 'manual', '--json'], { home });
    expect(early.code, early.stderr).toBe(0);
    const second = json<{ id: string }>(early).id;
    expect((await gitbus(['cancel', second, '--json'], { home })).code).toBe(0);

    // The remote opens: the node pushes the branch, then says so on the bus.
    rmSync(gate);
    await until('the delivery', () => w.events().some((e) => e.type === 'branch-delivered' && e.id === followUp), 90_000, w.stderr);
    expect(w.events().find((e) => e.type === 'branch-delivered' && e.id === followUp)?.['moot']).toBeUndefined();
    expect(showFile(project.remote, `${GROUP}/integration`, 'resolved.txt')).toBe('resolved\n');
    expect(existsSync(join(home, 'pushes', `${followUp}.1.json`))).toBe(false);

    const after = await show(followUp);
    expect(after.branch).toMatchObject({ branch: `${GROUP}/integration`, pushed: true, delivered: { path: `deliveries/${followUp}.1.md` } });
    expect(after.branch?.report?.pushError).toBeUndefined();
    expect(after.branch?.report?.merged).toEqual([`${GROUP}/one`, `${GROUP}/two`]);
    expect(after.branch?.report?.headCommit).toBe(gitCli(['--git-dir', project.remote, 'rev-parse', `refs/heads/${GROUP}/integration`]).trim());
    expect(after.summary?.problems ?? []).toEqual([]);
    const delivery = after.files.find((f) => f.path === `deliveries/${followUp}.1.md`)?.text ?? '';
    expect(delivery).toContain('node: alpha');
    expect(delivery).toContain(`branch: ${GROUP}/integration`);
    expect((await gitbus(['show', followUp], { home })).stdout).toContain(`pushed after its response went out (deliveries/${followUp}.1.md`);
    expect((await group()).resolvedBy).toBe(followUp);
    const again = await gitbus(['resolve', integration, '--runner', 'manual', '--json'], { home });
    expect(again.code).toBe(5);
    expect(json<{ error: { message: string } }>(again).error.message).toContain(`already resolved by ${followUp}`);
    // Nothing else on the bus reads it wrong: lint finds no problem with the new file.
    const lint = await gitbus(['lint', '--json'], { home });
    expect(lint.stdout).not.toContain('deliveries/');

    // A second delivery, for an attempt that has no response, pushed by hand: named with its field and fix, and the
    // result that counts is read as before; nothing is removed.
    gitCli(['pull', '-q', '--rebase', 'origin', 'main'], person);
    mkdirSync(join(person, 'deliveries'), { recursive: true });
    writeFileSync(join(person, 'deliveries', `${followUp}.2.md`), `---\nid: ${followUp}\nattempt: 2\nnode: alpha\nbranch: ${GROUP}/integration\nheadCommit: ${baseCommit}\ndelivered: ${at}\n---\n`);
    gitCli(['add', '-A'], person);
    gitCli(['commit', '-q', '-m', 'a stray delivery'], person);
    gitCli(['push', '-q', 'origin', 'HEAD:main'], person);
    const stray = await gitbus(['lint', '--json'], { home });
    expect(stray.code).not.toBe(0);
    const problems = json<{ problems: { path: string; field: string; reason: string; fix: string }[] }>(stray).problems.filter((p) => p.path.startsWith('deliveries/'));
    expect(problems).toEqual([expect.objectContaining({ path: `deliveries/${followUp}.2.md`, field: 'attempt' })]);
    expect(problems[0]?.reason).toContain('the response ends attempt 1');
    expect(problems[0]?.fix).toMatch(/^remove it/);
    expect((await show(followUp)).branch).toMatchObject({ pushed: true, delivered: { path: `deliveries/${followUp}.1.md` } });

    // The archive takes the deliveries with their task, and the archived task reads the same.
    w.child.kill('SIGTERM');
    await w.exited;
    watcher = null;
    const archived = await gitbus(['archive', '--all', '--json'], { home });
    expect(archived.code, archived.stderr).toBe(0);
    expect(gitCli(['ls-tree', '--name-only', '-r', 'main', 'deliveries/'], bus.remote).trim()).toBe('');
    const gone = await show(followUp);
    expect(gone.branch).toMatchObject({ pushed: true, delivered: { path: expect.stringMatching(new RegExp(`/${followUp}/delivery\\.1\\.md$`)) } });
    expect(gone.files.map((f) => f.path.replace(/^archive:\d{4}-\d{2}\//, ''))).toEqual(expect.arrayContaining([`${followUp}/delivery.1.md`, `${followUp}/delivery.2.md`]));
  }, 240_000);
});
