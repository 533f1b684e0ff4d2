import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { parse } from 'yaml';
import { ROOT, gitbus, gitCli, json } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { showInProcess } from '../helpers/in-process.js';
import { branchFiles, editNode, makeProject, pushHandoffs } from '../helpers/project.js';
import { until } from '../helpers/wait.js';

/**
 * Sessions with node affinity (issue 9.5): a claude task's session is recorded in its claim before it runs;
 * `gitbus resume` and `dispatch --resume` continue it on the node that ran it, in the same worktree (or folder),
 * and `gitbus worktrees` lists and prunes a node's worktrees without losing work. Real git, the CLI, watchers
 * as processes, the claude stand-in, which finds a session only in the folder it ran in.
 */
const STANDIN = join(ROOT, 'test/fixtures/claude-standin.mjs');

type Shown = { state: string; files: { path: string; text: string }[] };
type Call = { argv: string[]; prompt: string; cwd: string; taskId: string | null };
type Row = { key: string; path: string; branch: string; session: string | null; tasks: { id: string; state: string; archived: boolean }[]; head: string | null; unpushed: number | null; uncommitted: number | null; prunable: boolean; blockers: { reason: string; fix: string; overridable: boolean }[] };
type Pruned = { dryRun: boolean; removed: { key: string; branch: string; head: string; reason: string; branchDeleted: boolean }[]; kept: { key: string; named: boolean; blockers: { reason: string; fix: string; overridable: boolean }[] }[] };

let bus: Awaited<ReturnType<typeof makeBus>>;
let project: ReturnType<typeof makeProject>;
let person: string;
let claudeEnv: NodeJS.ProcessEnv;
let w1: string;
let w2: string;

function frontmatter(text: string): Record<string, unknown> {
  return parse(text.split('---\n')[1] ?? '') as Record<string, unknown>;
}

/**
 * What `gitbus show ID --json` says on alpha, read in the test's process (test/helpers/in-process.ts): the claims,
 * handoffs and responses the tests check are what the CLI and the watchers wrote; resume, dispatch, worktrees and
 * prune, what the tests are about, run through the CLI.
 */
async function shown(id: string): Promise<Shown> {
  return showInProcess<Shown>(bus.home('alpha'), id);
}

async function file(id: string, prefix: string): Promise<Record<string, unknown>> {
  const f = (await shown(id)).files.find((x) => x.path.startsWith(prefix) || x.path.includes(`/${id}/${prefix.replace(/s\/$/, '')}`));
  if (!f) throw new Error(`${id} has no ${prefix} file`);
  return frontmatter(f.text);
}

async function watchOnce(home: string): Promise<{ id: string; status: string }[]> {
  const r = await gitbus(['watch', '--once', '--json'], { home, env: claudeEnv, timeoutMs: 90_000 });
  expect(r.code, r.stderr).toBe(0);
  return json<{ ran: { id: string; status: string }[] }>(r).ran;
}

function calls(id: string): Call[] {
  const path = claudeEnv['CLAUDE_STANDIN_RECORD'] as string;
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Call).filter((c) => c.taskId === id);
}

function isAncestor(gitDir: string, a: string, b: string): boolean {
  return spawnSync('git', ['--git-dir', gitDir, 'merge-base', '--is-ancestor', a, b]).status === 0;
}

async function worktrees(home: string): Promise<Row[]> {
  const r = await gitbus(['worktrees', '--json'], { home });
  expect(r.code, r.stderr).toBe(0);
  return json<{ worktrees: Row[] }>(r).worktrees;
}

async function prune(home: string, args: string[]): Promise<{ code: number; out: Pruned; stderr: string }> {
  const r = await gitbus(['worktrees', 'prune', ...args, '--json'], { home });
  return { code: r.code, out: json<Pruned>(r), stderr: r.stderr };
}

beforeAll(async () => {
  bus = await makeBus();
  project = makeProject(bus.dir);
  person = join(bus.dir, 'person');
  claudeEnv = { GITBUS_CLAUDE_BIN: STANDIN, CLAUDE_STANDIN_SESSIONS: join(bus.dir, 'sessions'), CLAUDE_STANDIN_RECORD: join(bus.dir, 'claude-calls.jsonl') };
  w1 = await bus.addNode('w1', [], ['--runner', 'shell', '--runner', 'claude']);
  w2 = await bus.addNode('w2', [], ['--runner', 'shell', '--runner', 'claude']);
  for (const home of [w1, w2]) editNode(home, (c) => ({ ...c, projects: { proj: { url: project.remote } } }));
  pushHandoffs(person, bus.remote, [
    { id: 'rs-first', frontmatter: { to: 'w1', repo: 'proj', runner: 'claude', branch: 'agent/resume' }, body: 'Start the work.\n@write step1.txt one\n@commit step one\n' },
    { id: 'rs-plain', frontmatter: { to: 'w1', runner: 'claude' }, body: 'Remember the word apple.\n' },
    { id: 'rs-pushed', frontmatter: { to: 'w1', repo: 'proj', command: 'echo x > x.txt' } },
    { id: 'rs-unpushed', frontmatter: { to: 'w1', repo: 'proj', command: 'echo y > y.txt' } },
    { id: 'rs-dirty', frontmatter: { to: 'w1', repo: 'proj', autoCommit: false, command: 'echo z > z.txt' } },
    { id: 'rs-shell', frontmatter: { to: 'w2', command: 'true' } },
  ]);
  const [ran1, ran2] = await Promise.all([watchOnce(w1), watchOnce(w2)]);
  expect(ran1.map((r) => `${r.id} ${r.status}`).sort()).toEqual(['rs-dirty succeeded', 'rs-first succeeded', 'rs-plain succeeded', 'rs-pushed succeeded', 'rs-unpushed succeeded']);
  expect(ran2).toEqual([expect.objectContaining({ id: 'rs-shell', status: 'succeeded' })]);
  // Work the node holds that the project remote does not: a commit made by hand in a task's worktree.
  gitCli(['commit', '-q', '--allow-empty', '-m', 'made by hand, never pushed'], join(w1, 'worktrees', 'rs-unpushed'));
}, 120_000);

afterAll(async () => {
  await bus?.cleanup();
});

let session = '';
let resumeId = '';

describe('sessions with node affinity', () => {
  it('a claude task gets its session in the claim, and runs with exactly that session id in its worktree', async () => {
    const claim = await file('rs-first', 'claims/');
    session = String(claim['session']);
    expect(session).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const [call] = calls('rs-first');
    expect(call?.cwd).toBe(join(w1, 'worktrees', 'rs-first'));
    expect(call?.argv.join(' ')).toContain(`--session-id ${session}`);
    expect(((await file('rs-first', 'responses/'))['claude'] as { sessionId: string }).sessionId).toBe(session);
  });

  it('resume continues the session on the node that ran it: the same worktree, session and branch, as a fast-forward; a plain task in its folder', async () => {
    const head1 = ((await file('rs-first', 'responses/'))['project'] as { headCommit: string }).headCommit;
    const r = await gitbus(['resume', 'rs-first', 'continue\n@write step2.txt two\n@commit step two', '--json'], { home: bus.home('alpha') });
    expect(r.code, r.stderr).toBe(0);
    const out = json<{ id: string; node: string; session: string; resumes: string; project: unknown }>(r);
    expect(out).toMatchObject({ node: 'w1', session, resumes: 'rs-first', project: { repo: 'proj', branch: 'agent/resume', baseCommit: project.main() } });
    resumeId = out.id;
    expect(await file(resumeId, 'handoffs/')).toMatchObject({ title: 'resume rs-first: continue', to: 'w1', runner: 'claude', repo: 'proj', branch: 'agent/resume', resumes: 'rs-first', claude: { resume: session } });

    const plain = await gitbus(['resume', 'rs-plain', 'What was the word?', '--json'], { home: bus.home('alpha') });
    expect(plain.code, plain.stderr).toBe(0);
    const plainId = json<{ id: string }>(plain).id;
    const plainHandoff = await file(plainId, 'handoffs/');
    expect(plainHandoff).toMatchObject({ to: 'w1', runner: 'claude', resumes: 'rs-plain' });
    expect(plainHandoff['repo']).toBeUndefined();

    const ran = await watchOnce(w1);
    expect(ran.map((x) => `${x.id} ${x.status}`).sort()).toEqual([`${plainId} succeeded`, `${resumeId} succeeded`].sort());
    // The stand-in finds a session only in the folder it ran in: success proves the folder and the session.
    const [call] = calls(resumeId);
    expect(call?.cwd).toBe(join(w1, 'worktrees', 'rs-first'));
    expect(call?.argv.join(' ')).toContain(`--resume ${session}`);
    expect(call?.argv).not.toContain('--session-id');
    const resp = await file(resumeId, 'responses/');
    expect((resp['claude'] as { sessionId: string }).sessionId).toBe(session);
    const p = resp['project'] as { branch: string; headCommit: string; pushed: boolean };
    expect(p).toMatchObject({ branch: 'agent/resume', pushed: true });
    expect(isAncestor(project.remote, head1, p.headCommit)).toBe(true);
    expect(gitCli(['--git-dir', project.remote, 'rev-parse', 'agent/resume']).trim()).toBe(p.headCommit);
    expect(branchFiles(project.remote, 'agent/resume')).toEqual(expect.arrayContaining(['step1.txt', 'step2.txt']));

    const plainSession = String((await file('rs-plain', 'claims/'))['session']);
    const [plainCall] = calls(plainId);
    expect(plainCall?.cwd).toBe(calls('rs-plain')[0]?.cwd);
    expect(plainCall?.argv.join(' ')).toContain(`--resume ${plainSession}`);
  }, 90_000);

  it('dispatch --resume continues a resumed session with dispatch\'s own flags, and refuses a node the session is not on', async () => {
    const bad = await gitbus(['dispatch', 'elsewhere', '--resume', resumeId, '--to', 'w2', '--no-git', '--json'], { home: bus.home('alpha') });
    expect(bad.code).toBe(2);
    expect(json<{ error: { message: string; fix: string } }>(bad).error.message).toContain('lives on node w1');

    const r = await gitbus(['dispatch', 'check progress', '--resume', resumeId, '--priority', '7', '--timeout', '10m', '--no-git', '--json'], { home: bus.home('alpha') });
    expect(r.code, r.stderr).toBe(0);
    // As `resume --json` reports it: what it resumes, where, in which session, on which project and branch.
    const out = json<{ id: string }>(r);
    expect(out).toMatchObject({ resumes: resumeId, node: 'w1', session, project: { repo: 'proj', branch: 'agent/resume', baseCommit: project.main() } });
    const id = out.id;
    expect(await file(id, 'handoffs/')).toMatchObject({ title: 'check progress', to: 'w1', runner: 'claude', priority: 7, timeout: '10m', repo: 'proj', branch: 'agent/resume', resumes: resumeId, claude: { resume: session } });
    expect(await watchOnce(w1)).toEqual([expect.objectContaining({ id, status: 'succeeded' })]);
    const [call] = calls(id);
    expect(call?.cwd).toBe(join(w1, 'worktrees', 'rs-first'));
    expect(call?.argv.join(' ')).toContain(`--resume ${session}`);
  }, 60_000);

  it('resume refuses a task that has no session, never ran, is invalid or is still running, saying what to do', async () => {
    const alpha = bus.home('alpha');
    const shell = await gitbus(['resume', 'rs-shell', 'again', '--json'], { home: alpha });
    expect(shell.code).toBe(5);
    expect(json<{ error: { code: string; message: string; fix: string } }>(shell).error).toMatchObject({ code: 'NO_SESSION', message: expect.stringContaining('shell runner'), fix: expect.stringContaining('dispatch a new task') });

    pushHandoffs(person, bus.remote, [{ id: 'rs-waiting', frontmatter: { to: 'nobody', runner: 'claude' } }, { id: 'rs-busy', frontmatter: { to: 'w2', runner: 'claude' } }, { id: 'rs-invalid', frontmatter: { to: 'nobody', runner: 'claude', priority: 'high' } }]);
    const never = await gitbus(['resume', 'rs-waiting', 'go', '--json'], { home: alpha });
    expect(never.code).toBe(5);
    expect(json<{ error: { code: string } }>(never).error.code).toBe('NEVER_RAN');
    // Not "will run again", nor "wait until it has run": it never runs, and why is in its problems.
    const invalid = await gitbus(['resume', 'rs-invalid', 'go', '--json'], { home: alpha });
    expect(invalid.code).toBe(5);
    expect(json<{ error: { code: string; message: string; fix: string; data: { problems: { path: string; field: string }[] } } }>(invalid).error).toMatchObject({ code: 'INVALID_TASK', message: expect.stringContaining('does not run again by itself'), fix: expect.stringContaining('"gitbus show rs-invalid" lists why'), data: { problems: [{ path: 'handoffs/rs-invalid.md', field: 'priority' }] } });

    const claimed = await gitbus(['claim', 'rs-busy', '--json'], { home: w2 });
    expect(claimed.code, claimed.stderr).toBe(0);
    const busy = await gitbus(['resume', 'rs-busy', 'go', '--json'], { home: alpha });
    expect(busy.code).toBe(5);
    expect(json<{ error: { code: string; message: string; fix: string } }>(busy).error).toMatchObject({ code: 'STILL_RUNNING', message: expect.stringContaining('two claudes in one session'), fix: expect.stringContaining('gitbus cancel rs-busy') });
    expect((await gitbus(['respond', 'rs-busy', '--status', 'failed', '--reason', 'ended by the test'], { home: w2 })).code).toBe(0);
  }, 60_000);

  it('a resume addressed to a node that has no such worktree fails there with the reason', async () => {
    pushHandoffs(person, bus.remote, [{ id: 'rs-elsewhere', frontmatter: { to: 'w2', runner: 'claude', repo: 'proj', resumes: 'rs-first', claude: { resume: session } }, body: 'continue\n' }]);
    expect(await watchOnce(w2)).toEqual([expect.objectContaining({ id: 'rs-elsewhere', status: 'failed' })]);
    const reason = String((await file('rs-elsewhere', 'responses/'))['reason']);
    expect(reason).toContain('task rs-first, which this task resumes, has no worktree on node w2');
    // A pruned worktree takes the session with it: the reason names the new task that continues the branch.
    expect(reason).toContain('its session cannot continue: dispatch a new task on its branch instead, gitbus dispatch TITLE --repo proj --base gitbus/rs-first --branch gitbus/rs-first');
    expect(calls('rs-elsewhere')).toEqual([]);
  }, 60_000);

  it('resume --wait says why the resumed run did not succeed, and exits 9', async () => {
    const handoffs = () => gitCli(['--git-dir', bus.remote, 'ls-tree', '--name-only', 'main', 'handoffs/']).split('\n').filter(Boolean);
    const before = new Set(handoffs());
    // Its own process: it waits while this test has w1 run the task.
    const waiting = gitbus(['resume', 'rs-plain', 'And the colour?', '--wait', '--wait-timeout', '90s'], { home: bus.home('alpha'), process: true, timeoutMs: 120_000 });
    let id = '';
    await until('the resume on main', () => {
      id = handoffs().find((h) => !before.has(h))?.replace(/^handoffs\/(.+)\.md$/, '$1') ?? '';
      return id !== '';
    }, 60_000);
    // claude on w1 not logged in: the run fails with the reason in words.
    const r = await gitbus(['watch', '--once', '--json'], { home: w1, env: { ...claudeEnv, CLAUDE_STANDIN_MODE: 'not-logged-in' }, timeoutMs: 90_000 });
    expect(json<{ ran: { id: string; status: string }[] }>(r).ran).toEqual([expect.objectContaining({ id, status: 'failed' })]);
    const w = await waiting;
    expect(w.code, w.stderr).toBe(9);
    expect(w.stderr).toContain(`gitbus: ${id} ended failed on w1: claude is not logged in on node w1`);
  }, 120_000);

  it('two runs never share a worktree at once: a task that continues another one\'s worktree waits for its run to end', async () => {
    editNode(w2, (c) => ({ ...c, parallel: 2 }));
    const gate = join(bus.dir, 'gate');
    pushHandoffs(person, bus.remote, [
      { id: 'rs-long', frontmatter: { to: 'w2', repo: 'proj', priority: 1, command: `echo long > long.txt && while [ ! -f ${gate} ]; do sleep 0.05; done` } },
      { id: 'rs-next', frontmatter: { to: 'w2', repo: 'proj', resumes: 'rs-long', command: 'test -f long.txt && echo next > next.txt' } },
    ]);
    const watching = gitbus(['watch', '--once', '--json'], { home: w2, timeoutMs: 90_000 });
    const nextLog = join(w2, 'logs', 'rs-next.1.log');
    await until('rs-next to wait for rs-long', () => existsSync(nextLog) && readFileSync(nextLog, 'utf8').includes('waiting for task rs-long to end'), 30_000);
    expect(existsSync(join(w2, 'worktrees', 'rs-next'))).toBe(false);
    writeFileSync(gate, '');
    const r = await watching;
    expect(r.code, r.stderr).toBe(0);
    expect(json<{ ran: { id: string; status: string }[] }>(r).ran.map((x) => `${x.id} ${x.status}`).sort()).toEqual(['rs-long succeeded', 'rs-next succeeded']);
    const long = await file('rs-long', 'responses/');
    const next = await file('rs-next', 'responses/');
    // The response's `finished` is when it was written (after the push); the run ended at started + durationMs.
    expect(Date.parse(String(next['started']))).toBeGreaterThanOrEqual(Date.parse(String(long['started'])) + Number(long['durationMs']));
    expect(next['project']).toMatchObject({ branch: 'gitbus/rs-long', pushed: true });
    expect(branchFiles(project.remote, 'gitbus/rs-long')).toEqual(expect.arrayContaining(['long.txt', 'next.txt']));
  }, 60_000);

  it('worktrees lists each worktree with its tasks on the bus, session, pushed and unpushed commits and uncommitted files', async () => {
    const rows = await worktrees(w1);
    expect(rows.map((r) => r.key).sort()).toEqual(['rs-dirty', 'rs-first', 'rs-pushed', 'rs-unpushed']);
    const first = rows.find((r) => r.key === 'rs-first') as Row;
    expect(first).toMatchObject({ branch: 'agent/resume', session, unpushed: 0, uncommitted: 0, prunable: false, path: join(w1, 'worktrees', 'rs-first') });
    expect(first.tasks.map((t) => t.id)).toEqual(['rs-first', resumeId, expect.any(String)]);
    expect(first.tasks.every((t) => t.state === 'succeeded' && !t.archived)).toBe(true);
    expect(first.blockers.map((b) => b.overridable)).toEqual([true, true]);
    expect(rows.find((r) => r.key === 'rs-unpushed')).toMatchObject({ unpushed: 1, uncommitted: 0, session: null });
    expect(rows.find((r) => r.key === 'rs-dirty')).toMatchObject({ unpushed: 0, uncommitted: 1 });
    expect(rows.find((r) => r.key === 'rs-pushed')).toMatchObject({ unpushed: 0, uncommitted: 0, prunable: false, blockers: [expect.objectContaining({ reason: expect.stringContaining('not archived yet') })] });
    const text = await gitbus(['worktrees'], { home: w1 });
    expect(text.stdout).toContain('rs-unpushed  gitbus/rs-unpushed  proj');
    expect(text.stdout).toContain('1 commit(s) not pushed');
  }, 30_000);

  it('prune removes only archived, pushed, clean worktrees without a session, logs it, and refuses unpushed or uncommitted work, or one a pending resume will run in, even when named', async () => {
    expect((await prune(w1, [])).out.removed).toEqual([]);
    expect((await gitbus(['archive', '--all'], { home: bus.home('alpha') })).code).toBe(0);

    const dry = await prune(w1, ['--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.out.removed.map((r) => r.key)).toEqual(['rs-pushed']);
    expect(existsSync(join(w1, 'worktrees', 'rs-pushed'))).toBe(true);
    expect(dry.out.kept.find((k) => k.key === 'rs-first')?.blockers).toEqual([expect.objectContaining({ reason: expect.stringContaining(`claude session ${session}`), overridable: true })]);

    const headPushed = (await worktrees(w1)).find((r) => r.key === 'rs-pushed')?.head;
    const done = await prune(w1, []);
    expect(done.code, done.stderr).toBe(0);
    expect(done.out.removed).toEqual([expect.objectContaining({ key: 'rs-pushed', branch: 'gitbus/rs-pushed', head: headPushed, branchDeleted: true })]);
    expect(existsSync(join(w1, 'worktrees', 'rs-pushed'))).toBe(false);
    expect(existsSync(join(w1, 'worktrees', 'rs-pushed.json'))).toBe(false);
    expect(branchFiles(project.remote, 'gitbus/rs-pushed')).toContain('x.txt');
    const log = readFileSync(join(w1, 'logs', 'worktrees.log'), 'utf8').trim().split('\n');
    expect(log).toHaveLength(1);
    expect(log[0]?.split('\t').slice(1, 4)).toEqual(['rs-pushed', 'gitbus/rs-pushed', headPushed]);
    expect(log[0]).toContain('ended and archived');

    const refused = await prune(w1, ['rs-unpushed', 'rs-dirty']);
    expect(refused.code).toBe(5);
    expect(refused.out.removed).toEqual([]);
    const why = (key: string) => refused.out.kept.find((k) => k.key === key)?.blockers ?? [];
    expect(why('rs-unpushed')).toEqual([expect.objectContaining({ reason: '1 commit(s) that the project remote does not have', fix: `push them: git -C ${join(w1, 'worktrees', 'rs-unpushed')} push origin HEAD:refs/heads/gitbus/rs-unpushed`, overridable: false })]);
    expect(why('rs-dirty')[0]).toMatchObject({ reason: '1 uncommitted file(s)', fix: expect.stringContaining('add --all'), overridable: false });
    expect(existsSync(join(w1, 'worktrees', 'rs-unpushed', 'y.txt'))).toBe(true);
    expect(existsSync(join(w1, 'worktrees', 'rs-dirty', 'z.txt'))).toBe(true);

    // An archived task resumes like a live one; while that resume waits to run, its worktree stays even when named.
    const again = await gitbus(['resume', 'rs-first', 'one more thing', '--json'], { home: bus.home('alpha') });
    expect(again.code, again.stderr).toBe(0);
    const againId = json<{ id: string; node: string; session: string }>(again);
    expect(againId).toMatchObject({ node: 'w1', session });
    const blocked = await prune(w1, ['rs-first']);
    expect(blocked.code).toBe(5);
    expect(blocked.out.kept[0]?.blockers).toContainEqual(expect.objectContaining({ reason: `task ${againId.id} resumes it and is pending`, overridable: false }));
    expect((await gitbus(['cancel', againId.id], { home: bus.home('alpha') })).code).toBe(0);

    const named = await prune(w1, ['rs-first']);
    expect(named.code, named.stderr).toBe(0);
    expect(named.out.removed).toEqual([expect.objectContaining({ key: 'rs-first', branch: 'agent/resume' })]);
    expect(readFileSync(join(w1, 'logs', 'worktrees.log'), 'utf8')).toContain(`named; head on the project remote, nothing uncommitted; tasks rs-first succeeded archived`);
    expect((await worktrees(w1)).map((r) => r.key).sort()).toEqual(['rs-dirty', 'rs-unpushed']);

    const unknown = await gitbus(['worktrees', 'prune', 'rs-nope', '--json'], { home: w1 });
    expect(unknown.code).toBe(2);
  }, 120_000);

  it('a run that fails without a commit over its base pushes no branch and says so; dispatch --resume continues it in its worktree, and elsewhere the fix starts from its base', async () => {
    const alpha = bus.home('alpha');
    // More turns than allowed: claude stops with error_max_turns, having changed nothing.
    pushHandoffs(person, bus.remote, [{ id: 'rs-nothing', frontmatter: { to: 'w1', repo: 'proj', base: 'main', runner: 'claude', claude: { maxTurns: 2 } }, body: 'Look around.\n@bash true\n@bash true\n@bash true\n' }]);
    expect(await watchOnce(w1)).toEqual([expect.objectContaining({ id: 'rs-nothing', status: 'failed' })]);
    const resp = await file('rs-nothing', 'responses/');
    const report = resp['project'] as Record<string, unknown>;
    expect(report).toMatchObject({ branch: 'gitbus/rs-nothing', pushed: false, commits: 0, baseCommit: project.main(), headCommit: project.main() });
    expect(report['pushError']).toBeUndefined();
    expect(branchFiles(project.remote, 'gitbus/rs-nothing')).toBeNull();
    const body = (await shown('rs-nothing')).files.find((f) => f.path.startsWith('responses/'))?.text ?? '';
    expect(body).toContain('Nothing was pushed: the run made no commit over its base, so `gitbus/rs-nothing` was not made on the project remote.');
    const show = await gitbus(['show', 'rs-nothing'], { home: alpha });
    expect(show.stdout).toContain('branch gitbus/rs-nothing of proj (0 commits, 0 files, +0 -0, not pushed: the run made no commit over its base, so there was nothing to push)');
    expect(show.stdout).not.toContain('fetch:');

    // On a node without its worktree: a base of gitbus/rs-nothing could not be dispatched, so the fix names main.
    const sessionOf = String((await file('rs-nothing', 'claims/'))['session']);
    pushHandoffs(person, bus.remote, [{ id: 'rs-nothing-w2', frontmatter: { to: 'w2', runner: 'claude', repo: 'proj', base: 'main', branch: 'gitbus/rs-nothing', resumes: 'rs-nothing', claude: { resume: sessionOf } }, body: 'continue\n' }]);
    expect(await watchOnce(w2)).toEqual([expect.objectContaining({ id: 'rs-nothing-w2', status: 'failed' })]);
    expect(String((await file('rs-nothing-w2', 'responses/'))['reason'])).toContain('gitbus dispatch TITLE --repo proj --base main --branch gitbus/rs-nothing (gitbus/rs-nothing is not on the project remote, so the new task starts from its base)');

    const prompt = join(bus.dir, 'rs-nothing-prompt.md');
    writeFileSync(prompt, 'Now do it.\n@bash echo found > found.txt\n');
    const r = await gitbus(['dispatch', 'do it now', '--resume', 'rs-nothing', '--body-file', prompt, '--no-git', '--json'], { home: alpha });
    expect(r.code, r.stderr).toBe(0);
    const id = json<{ id: string }>(r).id;
    expect(await watchOnce(w1)).toEqual([expect.objectContaining({ id, status: 'succeeded' })]);
    const [call] = calls(id);
    expect(call?.cwd).toBe(join(w1, 'worktrees', 'rs-nothing'));
    expect(call?.argv.join(' ')).toContain(`--resume ${sessionOf}`);
    expect((await file(id, 'responses/'))['project']).toMatchObject({ branch: 'gitbus/rs-nothing', pushed: true, commits: 1 });
    expect(branchFiles(project.remote, 'gitbus/rs-nothing')).toContain('found.txt');
  }, 120_000);
});
