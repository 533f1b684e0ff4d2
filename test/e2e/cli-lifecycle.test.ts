import { describe, it, expect, afterAll, beforeAll } from 'vitest';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { BIN, gitbus, gitCli, json, spawnBounded, tempDir } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { claimInProcess } from '../helpers/in-process.js';
import { RUNNERS } from '../../schemas/field-limits.js';

type Json = Record<string, unknown>;

// The tests touch only the tasks they dispatch (or a bus of their own), and a node's processes may run side by side
// (docs/ARCHITECTURE.md "Concurrency on one node"): they run at once.
describe.concurrent('CLI lifecycle on a local bus', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let a: string;
  let b: string;

  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha', labels: ['gpu'] });
    a = bus.home('alpha');
    b = await bus.addNode('beta');
  });
  afterAll(async () => bus?.cleanup());

  it('dispatch, show, claim, respond, show the response', async () => {
    const id = await bus.dispatch('beta', ['Run the suite', '--command', 'make test', '--label', 'gpu', '--priority', '3']);
    expect(id).toMatch(/^\d{8}-\d{6}-[0-9a-z]{6}$/);
    const shown = json<{ state: string; files: { path: string; text: string }[] }>(await gitbus(['show', id, '--json'], { home: a }));
    expect(shown.state).toBe('pending');
    expect(shown.files[0]?.path).toBe(`handoffs/${id}.md`);
    expect(shown.files[0]?.text).toContain('command: make test');

    const wrong = await gitbus(['claim', id], { home: b });
    expect(wrong.code).toBe(5);
    expect(wrong.stderr).toContain('gpu');

    const c = await gitbus(['claim', id.slice(-6), '--json'], { home: a });
    expect(c.code, c.stderr).toBe(0);
    expect(json(c)).toMatchObject({ id, attempt: 1, node: 'alpha' });

    const again = await gitbus(['claim', id, '--json'], { home: b });
    expect(again.code).toBe(5);
    expect(json<{ error: { code: string; data: Json } }>(again).error).toMatchObject({ code: 'TASK_STATE', data: { holder: 'alpha' } });

    const notMine = await gitbus(['respond', id, '--status', 'succeeded'], { home: b });
    expect(notMine.code).toBe(5);

    const r = await gitbus(['respond', id, '--status', 'failed', '--summary', 'two tests failed', '--body-file', '-', '--exit-code', '2', '--json'], { home: a, input: 'test_a: FAIL\ntest_b: FAIL\n' });
    expect(r.code, r.stderr).toBe(0);
    const done = json<{ state: string; files: { path: string; text: string }[] }>(await gitbus(['show', id, '--json'], { home: b }));
    expect(done.state).toBe('failed');
    const response = done.files.find((f) => f.path === `responses/${id}.md`)?.text ?? '';
    expect(response).toContain('exitCode: 2');
    expect(response).toContain('## Summary\n\ntwo tests failed');
    expect(response).toContain('test_b: FAIL');
    const human = await gitbus(['show', id], { home: b });
    expect(human.stdout).toContain(`==> responses/${id}.md <==`);
  });

  it('release puts a task back; the next claim takes the next attempt', async () => {
    const id = await bus.dispatch('alpha', ['give it back']);
    expect((await gitbus(['claim', id], { home: b })).code).toBe(0);
    const rel = await gitbus(['release', id, '--reason', 'wrong machine', '--json'], { home: b });
    expect(rel.code, rel.stderr).toBe(0);
    expect(json(rel)).toMatchObject({ id, attempt: 1, maxAttempts: 3, becomes: 'pending' });
    const c = json(await gitbus(['claim', id, '--json'], { home: a }));
    expect(c).toMatchObject({ id, attempt: 2, node: 'alpha' });
  });

  it('release at the last allowed attempt says the task fails, its attempts used up, not that it is pending again', async () => {
    const one = await makeBus({ node: 'solo', initArgs: ['--max-attempts', '1'] });
    try {
      const home = one.home('solo');
      const [text, asJson] = [await one.dispatch('solo', ['given back once']), await one.dispatch('solo', ['given back once, json'])];
      for (const id of [text, asJson]) await claimInProcess(home, id);
      const r = await gitbus(['release', text], { home });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(`released ${text} (attempt 1); it fails: its attempts are used up (1 of 1), so no node may claim it again`);
      expect(r.stdout).not.toContain('pending again');
      const j = await gitbus(['release', asJson, '--json'], { home });
      expect(json(j)).toMatchObject({ id: asJson, attempt: 1, maxAttempts: 1, becomes: 'failed' });
      // Until a watcher answers it, its files say pending: status and show say it is spent, not claimable.
      const st = await gitbus(['status'], { home });
      expect(st.stdout).toMatch(new RegExp(`${text}\\s+pending\\s+given back once \\(all 1 attempts used: a watcher answers it failed\\)`));
      const shown = json<{ state: string; summary: { exhausted: boolean } }>(await gitbus(['show', asJson, '--json'], { home }));
      expect(shown).toMatchObject({ state: 'pending', summary: { exhausted: true } });
    } finally {
      await one.cleanup();
    }
  });

  it('cancel: a pending task at once, a claimed one via its holder', async () => {
    const p = await bus.dispatch('alpha', ['never mind']);
    expect(json(await gitbus(['cancel', p, '--json'], { home: b }))).toMatchObject({ id: p, state: 'cancelled', changed: true });
    // Cancelling a cancelled task again is a no-op, exit 0, so a script may retry; a task that ended otherwise exits 5 (below).
    const again = await gitbus(['cancel', p, '--json'], { home: b });
    expect(again.code, again.stderr).toBe(0);
    expect(json(again)).toMatchObject({ id: p, state: 'cancelled', changed: false });
    const againText = await gitbus(['cancel', p], { home: b });
    expect(againText.code, againText.stderr).toBe(0);
    expect(againText.stdout.trim()).toBe(`${p}: already cancelled; nothing to do`);
    expect((await gitbus(['claim', p], { home: a })).code).toBe(5);

    const running = await bus.dispatch('alpha', ['stop me']);
    expect((await gitbus(['claim', running], { home: a })).code).toBe(0);
    expect(json(await gitbus(['cancel', running, '--json'], { home: b }))).toMatchObject({ state: 'cancelling' });
    expect((await gitbus(['respond', running, '--status', 'cancelled'], { home: a })).code).toBe(0);
    expect(json<{ state: string }>(await gitbus(['show', running, '--json'], { home: b })).state).toBe('cancelled');
    expect(json(await gitbus(['cancel', running, '--json'], { home: b }))).toMatchObject({ state: 'cancelled', changed: false });
    const done = await bus.dispatch('alpha', ['already done']);
    expect((await gitbus(['claim', done], { home: a })).code).toBe(0);
    expect((await gitbus(['respond', done, '--status', 'succeeded'], { home: a })).code).toBe(0);
    const finished = await gitbus(['cancel', done], { home: b });
    expect(finished.code).toBe(5);
    expect(finished.stderr).toContain('succeeded');
    expect(json<{ error: { code: string } }>(await gitbus(['cancel', done, '--json'], { home: b })).error.code).toBe('TASK_STATE');
    // The help says both.
    const help = await gitbus(['cancel', '--help'], { home: b });
    expect(help.stdout).toMatch(/already cancelled, or being cancelled \(cancelling\), is left as it is: nothing is written, exit 0/);
    expect(help.stdout).toMatch(/\(succeeded, failed, timed-out\), live or archived, cannot be cancelled: TASK_STATE, exit 5/);
  });

  it('claim --next follows priority, labels, --to and dependencies (also on archived tasks)', async () => {
    const bus2 = await makeBus({ node: 'solo', labels: ['linux'] });
    try {
      const h = bus2.home('solo');
      const first = await bus2.dispatch('solo', ['first step']);
      const second = await bus2.dispatch('solo', ['second step', '--after', first, '--priority', '100']);
      await bus2.dispatch('solo', ['for another node', '--to', 'other', '--priority', '500', '--force']);
      await bus2.dispatch('solo', ['needs a gpu', '--label', 'gpu', '--priority', '400']);
      const low = await bus2.dispatch('solo', ['low', '--priority', '-5']);
      const mid = await bus2.dispatch('solo', ['mid', '--label', 'linux']);
      const order: string[] = [];
      for (;;) {
        const c = await gitbus(['claim', '--next', '--json'], { home: h });
        if (c.code !== 0) {
          expect(c.code).toBe(3);
          break;
        }
        const id = json<{ id: string }>(c).id;
        order.push(id);
        expect((await gitbus(['respond', id, '--status', 'succeeded'], { home: h })).code).toBe(0);
        // Archive as soon as the first step ends: its dependant must find it in the archive.
        if (id === first) expect(json<{ archived: string[] }>(await gitbus(['archive', '--all', '--json'], { home: h })).archived).toContain(first);
      }
      expect(order).toEqual([first, second, mid, low]);
      const s = json<{ tasks: { title: string; state: string }[] }>(await gitbus(['status', '--json'], { home: h }));
      expect(s.tasks.filter((t) => t.state === 'pending').map((t) => t.title).sort()).toEqual(['for another node', 'needs a gpu']);
      const shown = json<{ archived: string; state: string }>(await gitbus(['show', first, '--json'], { home: h }));
      expect(shown).toMatchObject({ state: 'succeeded' });
      expect(shown.archived).toMatch(/^\d{4}-\d{2}$/);
      // Its output is its archived response's, as show finds it (not "no task").
      const logs = await gitbus(['logs', first, '--json'], { home: h });
      expect(logs.code, logs.stderr).toBe(0);
      expect(json<{ id: string; state: string; source: string; node: string }>(logs)).toMatchObject({ id: first, state: 'succeeded', source: 'response', node: 'solo' });
      // An archived task keeps its id: a new task with it is refused, not dropped behind the old one or mixed with it.
      const again = await gitbus(['dispatch', 'same id again', '--id', first, '--no-git', '--json'], { home: h });
      expect(again.code).toBe(5);
      expect(json<{ error: { message: string } }>(again).error.message).toContain(`a task with id ${first} is in the archive`);
      expect(json<{ archived: string; state: string }>(await gitbus(['show', first, '--json'], { home: h }))).toMatchObject({ state: 'succeeded', archived: shown.archived });
    } finally {
      await bus2.cleanup();
    }
  });

  it('dispatch refuses a node that does not exist unless --force, and warns about labels and runners no node has', async () => {
    const refused = await gitbus(['dispatch', 'for nobody', '--to', 'gamma', '--no-git'], { home: a });
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain('no node named "gamma"');
    const r = await gitbus(['dispatch', 'for nobody', '--to', 'gamma', '--no-git', '--force'], { home: a });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('no node named "gamma"');
    const j = json<{ warnings: string[] }>(await gitbus(['dispatch', 'needs tpu', '--label', 'tpu', '--no-git', '--json'], { home: a }));
    expect(j.warnings).toEqual([expect.stringContaining('label(s) tpu')]);
    const ok = json<{ warnings: string[] }>(await gitbus(['dispatch', 'needs gpu', '--label', 'gpu', '--no-git', '--json'], { home: a }));
    expect(ok.warnings).toEqual([]);
    // No node here offers a runner (a manual task needs none): a task for one waits, and dispatch says so at once.
    const claude = json<{ warnings: string[] }>(await gitbus(['dispatch', 'needs claude', '--runner', 'claude', '--no-git', '--json'], { home: a }));
    expect(claude.warnings).toEqual([expect.stringContaining('no node offers the claude runner')]);
    // Forced onto a node that cannot run it: one warning, not a second about the same runner; --json keeps one too.
    const forced = await gitbus(['dispatch', 'forced', '--to', 'alpha', '--runner', 'claude', '--no-git', '--force'], { home: a });
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stderr.match(/gitbus: warning: /g)).toHaveLength(1);
    expect(forced.stderr).toContain('node alpha cannot run this task: it does not offer the claude runner');
    const forcedJson = json<{ warnings: string[] }>(await gitbus(['dispatch', 'forced', '--to', 'alpha', '--runner', 'claude', '--no-git', '--force', '--json'], { home: a }));
    expect(forcedJson.warnings).toEqual([expect.stringContaining('no node alpha offers the claude runner')]);
  });

  it('a task given back at its last attempt fails at the next watcher wake, instead of staying pending for ever', async () => {
    const bus3 = await makeBus({ node: 'solo', initArgs: ['--max-attempts', '1', '--runner', 'shell'] });
    try {
      const h = bus3.home('solo');
      const id = await bus3.dispatch('solo', ['given back', '--command', 'true']);
      expect((await gitbus(['claim', id], { home: h })).code).toBe(0);
      expect((await gitbus(['release', id], { home: h })).code).toBe(0);
      const w = await gitbus(['watch', '--once', '--json'], { home: h });
      expect(w.code, w.stderr).toBe(0);
      expect(json<{ ran: unknown[] }>(w).ran).toEqual([]);
      const shown = json<{ state: string; files: { path: string; text: string }[] }>(await gitbus(['show', id, '--json'], { home: h }));
      expect(shown.state).toBe('failed');
      expect(shown.files.find((f) => f.path === `responses/${id}.md`)?.text).toContain('given back at attempt 1, the last of 1 attempts');
    } finally {
      await bus3.cleanup();
    }
  });

  it('dispatch records the git state of the directory it runs in', async () => {
    const repo = join(bus.dir, 'project');
    gitCli(['init', '-q', '-b', 'feature-x', repo]);
    gitCli(['commit', '-q', '--allow-empty', '-m', 'initial work'], repo);
    const d = await gitbus(['dispatch', 'with context', '--json'], { home: a, cwd: repo });
    expect(d.code, d.stderr).toBe(0);
    const id = json<{ id: string }>(d).id;
    const text = json<{ files: { text: string }[] }>(await gitbus(['show', id, '--json'], { home: a })).files[0]?.text ?? '';
    expect(text).toContain('## Git state');
    expect(text).toContain('**Branch:** feature-x');
    expect(text).toContain('initial work');
  });

  it("the git state names the checkout's remote without the credentials in its URL, and its changes as git status --short", async () => {
    const repo = join(bus.dir, 'project-with-token');
    gitCli(['init', '-q', '-b', 'main', repo]);
    gitCli(['commit', '-q', '--allow-empty', '-m', 'token work'], repo);
    gitCli(['remote', 'add', 'origin', 'https://alice:ghp_s3cretT0ken@example.invalid/p.git'], repo);
    const sub = join(repo, 'src');
    await mkdir(sub);
    await writeFile(join(sub, 'new file.txt'), 'x\n');
    const d = await gitbus(['dispatch', 'with a token in the remote', '--no-repo', '--json'], { home: a, cwd: sub });
    expect(d.code, d.stderr).toBe(0);
    const text = json<{ files: { text: string }[] }>(await gitbus(['show', json<{ id: string }>(d).id, '--json'], { home: a })).files[0]?.text ?? '';
    expect(text).toContain('**Repository:** https://example.invalid/p.git');
    expect(text).not.toContain('s3cret');
    expect(text).toContain(`**Changes:**\n\`\`\`\n${gitCli(['status', '--short'], sub).trimEnd()}\n\`\`\``);
  });

  it('two commands at once on one node never corrupt its clone', async () => {
    // A node of its own: git fsck is not atomic against writers (an object fetched after its scan, under a ref read
    // after it, reads as missing), and the other tests' commands use alpha's clone while this one checks.
    const c = await bus.addNode('parallel');
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => gitbus(['dispatch', `parallel ${i}`, '--no-git', '--json'], { home: c, process: true })));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const ids = results.map((r) => json<{ id: string }>(r).id);
    expect(new Set(ids).size).toBe(8);
    const s = json<{ tasks: { id: string }[] }>(await gitbus(['status', '--json'], { home: c }));
    for (const id of ids) expect(s.tasks.map((t) => t.id)).toContain(id);
    expect(() => gitCli(['--git-dir', join(c, 'clone.git'), 'fsck', '--no-progress'])).not.toThrow();
  });
});

describe.concurrent('CLI errors and exit codes', () => {
  it('every command has --help and --json', async () => {
    // The commands as the program lists them, so that a new command cannot be left out of this test.
    const top = await gitbus(['--help']);
    const listed = [...(top.stdout.split('Commands:')[1] ?? '').matchAll(/^ {2}([a-z][a-z-]*)/gm)].map((m) => m[1] as string).filter((c) => c !== 'help');
    expect(listed).toEqual(expect.arrayContaining(['init', 'join', 'dispatch', 'status', 'show', 'claim', 'release', 'respond', 'cancel', 'lint', 'archive', 'watch', 'logs', 'run', 'attach', 'resume', 'worktrees', 'fanout', 'group', 'resolve', 'service', 'hooks', 'doctor']));
    const helps = await Promise.all(listed.map((cmd) => gitbus([cmd, '--help'])));
    listed.forEach((cmd, i) => {
      const r = helps[i] as Awaited<ReturnType<typeof gitbus>>;
      expect(r.code, cmd).toBe(0);
      expect(r.stdout, cmd).toContain(`Usage: gitbus ${cmd}`);
      // A command with subcommands (service, hooks, worktrees) has --json on each of them.
      if (!/\nCommands:/.test(r.stdout)) expect(r.stdout, cmd).toContain('--json');
    });
    // init's and join's --runner list every runner there is (seed 003's integration needs merge).
    expect(RUNNERS).toContain('merge');
    for (const cmd of ['init', 'join']) expect(helps[listed.indexOf(cmd)]?.stdout.replace(/\s+/g, ' '), cmd).toContain(`may use: ${RUNNERS.join(', ')} (repeatable`);
  });

  it('no bus at the home: exit 7 and says how to make one', async () => {
    const dir = await tempDir();
    try {
      const r = await gitbus(['status', '--json'], { home: join(dir.path, 'nothing') });
      expect(r.code).toBe(7);
      expect(json<{ error: { code: string; fix: string } }>(r).error).toMatchObject({ code: 'NO_BUS' });
      expect(r.stderr).toContain('gitbus init');
    } finally {
      await dir.cleanup();
    }
  });

  it('run from a folder that was removed: WORKING_FOLDER_GONE (exit 10) with the fix, not an internal error', async () => {
    const bus = await makeBus({ node: 'here' });
    try {
      // A shell that entered the folder before it was removed, as a terminal left in a deleted checkout is.
      const r = await spawnBounded('sh', ['-c', 'mkdir gone && cd gone && rmdir ../gone && exec "$0" "$1" dispatch x --no-git --json', process.execPath, BIN], { cwd: bus.dir, env: { ...process.env, GITBUS_HOME: bus.home('here') }, timeoutMs: 60_000 });
      expect(r.code, r.stderr).toBe(10);
      expect(json<{ error: { code: string; fix: string } }>(r).error).toMatchObject({ code: 'WORKING_FOLDER_GONE', fix: expect.stringContaining('cd to a folder that exists') });
      expect(r.stderr).not.toContain('internal error');
    } finally {
      await bus.cleanup();
    }
  });

  it('unknown id exit 4, usage errors exit 2, init twice and a taken node name exit 5', async () => {
    const bus = await makeBus({ node: 'one' });
    try {
      const unknown = await gitbus(['show', 'no-such-task', '--json'], { home: bus.home('one') });
      expect(unknown.code).toBe(4);
      expect(json<{ error: { code: string } }>(unknown).error.code).toBe('UNKNOWN_TASK');
      expect((await gitbus(['claim'], { home: bus.home('one') })).code).toBe(2);
      // An empty id (an unset variable in a script) is a usage error (README: exit 2, INVALID_ID), not a task this bus lacks.
      for (const args of [['show', ''], ['cancel', ' '], ['logs', ''], ['release', '']]) {
        const empty = await gitbus([...args, '--json'], { home: bus.home('one') });
        expect(empty.code, args.join(' ')).toBe(2);
        expect(json<{ error: { code: string; message: string } }>(empty).error).toMatchObject({ code: 'INVALID_ID', message: 'the task id is empty' });
      }
      // Nor is an id no task can have (a space, capitals).
      for (const ref of ['BAD ID', 'Bad_ID!']) {
        const bad = await gitbus(['cancel', ref, '--json'], { home: bus.home('one') });
        expect(bad.code, ref).toBe(2);
        expect(json<{ error: { code: string; message: string } }>(bad).error.code).toBe('INVALID_ID');
      }
      expect((await gitbus(['respond', 'x', '--status', 'maybe'], { home: bus.home('one') })).code).toBe(2);
      expect((await gitbus(['init', '--node', 'Bad Name'], { home: join(bus.dir, 'h2') })).code).toBe(2);
      // The bus's remote given as the home: refused, nothing written among the repository's files.
      for (const args of [['init', '--node', 'two'], ['join', bus.remote, '--node', 'two']]) {
        const intoRepo = await gitbus([...args, '--json'], { home: bus.remote });
        expect(intoRepo.code, args[0]).toBe(2);
        expect(json<{ error: { message: string; fix: string } }>(intoRepo).error.message).toBe(`the home ${bus.remote} is a git repository (it holds HEAD, objects and refs), not a folder for a node`);
        expect(existsSync(join(bus.remote, 'node.yaml')) || existsSync(join(bus.remote, 'clone.git')) || existsSync(join(bus.remote, 'remote.git'))).toBe(false);
      }
      const twice = await gitbus(['init'], { home: bus.home('one') });
      expect(twice.code).toBe(5);
      const taken = await gitbus(['join', bus.remote, '--node', 'one'], { home: join(bus.dir, 'h3') });
      expect(taken.code).toBe(5);
      expect(taken.stderr).toContain('--node');
      const onto = await gitbus(['init', '--remote', bus.remote], { home: join(bus.dir, 'h4') });
      expect(onto.code).toBe(5);
      expect(onto.stderr).toContain('gitbus join');
      // join of a path with no repository: the fix makes a bus there in one step (an empty `git init --bare` would
      // be refused next as NOT_A_BUS), and following it works.
      const missing = join(bus.dir, 'no-bus.git');
      const nothing = await gitbus(['join', missing, '--node', 'two', '--json'], { home: join(bus.dir, 'h5') });
      expect(json<{ error: { code: string; fix: string } }>(nothing).error).toMatchObject({ code: 'REMOTE_NOT_FOUND', fix: expect.stringContaining(`\`gitbus init --remote ${missing}\``) });
      expect(json<{ error: { fix: string } }>(nothing).error.fix).not.toContain('git init --bare');
      const made = await gitbus(['init', '--remote', missing, '--node', 'two'], { home: join(bus.dir, 'h5') });
      expect(made.code, made.stderr).toBe(0);
    } finally {
      await bus.cleanup();
    }
  });

  it('an unreachable remote: exit 6 with the path', async () => {
    const bus = await makeBus({ node: 'lonely' });
    try {
      await rm(bus.remote, { recursive: true, force: true });
      const r = await gitbus(['claim', '--next'], { home: bus.home('lonely') });
      expect(r.code).toBe(6);
      expect(r.stderr).toContain(bus.remote);
    } finally {
      await bus.cleanup();
    }
  });
});
