import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { gitbus, gitCli, json } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { startWatcher } from '../helpers/watcher-process.js';
import { until } from '../helpers/wait.js';
import { fingerprintOf } from '../helpers/ssh-keys.js';

/**
 * `gitbus dispatch --from FILE` (issue 14, batching) on real bare remotes: many tasks in ONE commit
 * on main, a watcher running them, a bad line refusing the whole file, standard input, the checkout's project
 * once for all, signatures in the same commit on a bus with a trust root, and the offline queue sending the
 * batch in one commit later.
 */

type Out = { ids: string[]; commit: string | null; tasks: { id: string; title: string; at: string; path: string }[]; queued?: { reason: string }; project?: { repo: string } };

const children: ChildProcess[] = [];
let bus: Awaited<ReturnType<typeof makeBus>>;
let home: string;
let worker: string;

const commits = (remote = bus.remote) => Number(gitCli(['--git-dir', remote, 'rev-list', '--count', 'main']).trim());
const head = (remote = bus.remote) => gitCli(['--git-dir', remote, 'rev-parse', 'main']).trim();
const changed = (rev: string, remote = bus.remote) => gitCli(['--git-dir', remote, 'show', '--name-only', '--format=', rev]).split('\n').filter(Boolean).sort();
const fileAt = (path: string, remote = bus.remote) => gitCli(['--git-dir', remote, 'show', `main:${path}`]);
const frontmatter = (text: string) => parse(/^---\n([\s\S]*?)\n---\n/.exec(text)?.[1] ?? '') as Record<string, unknown>;
const jsonl = (objs: unknown[]) => `${objs.map((o) => JSON.stringify(o)).join('\n')}\n`;

beforeAll(async () => {
  bus = await makeBus({ node: 'laptop' });
  home = bus.home('laptop');
  worker = await bus.addNode('worker', [], ['--runner', 'shell', '--parallel', '4']);
}, 30_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await bus?.cleanup();
});

describe('dispatch --from: many tasks in one commit', () => {
  it('puts 50 tasks of a JSON Lines file on main in exactly one commit, ids in input order, and a watcher runs them all', async () => {
    const file = join(bus.dir, 'fifty.jsonl');
    writeFileSync(file, jsonl(Array.from({ length: 50 }, (_, i) => ({ title: `batch task ${i}`, command: `echo out-${i}`, priority: i % 3 }))));
    const before = commits();
    const r = await gitbus(['dispatch', '--from', file, '--json', '--no-git'], { home });
    expect(r.code, r.stderr).toBe(0);
    const out = json<Out>(r);
    expect(commits()).toBe(before + 1);
    expect(out.commit).toBe(head());
    expect(out.ids).toHaveLength(50);
    expect(new Set(out.ids).size).toBe(50);
    expect(out.tasks.map((t) => t.title)).toEqual(Array.from({ length: 50 }, (_, i) => `batch task ${i}`));
    expect(out.tasks[49]?.at).toBe(`${file}:50`);
    expect(changed('main')).toEqual(out.ids.map((id) => `handoffs/${id}.md`).sort());
    const subject = gitCli(['--git-dir', bus.remote, 'log', '-1', '--format=%B', 'main']).split('\n');
    expect(subject[0]).toBe('gitbus: dispatch 50 tasks');
    // The message lists them as the file does.
    expect(subject.slice(2, 5)).toEqual(out.ids.slice(0, 3).map((id, i) => `${id} batch task ${i}`));
    const h = frontmatter(fileAt(`handoffs/${out.ids[1]}.md`));
    expect(h).toMatchObject({ id: out.ids[1], title: 'batch task 1', command: 'echo out-1', priority: 1, from: 'laptop' });

    const w = startWatcher(worker, ['--poll', '500ms'], children);
    try {
      const responses = () => gitCli(['--git-dir', bus.remote, 'ls-tree', '--name-only', 'main', 'responses/']).split('\n').filter(Boolean).length;
      // Bounded well past what 50 one-line tasks take alone (~5 s): the suite runs four files on two cores.
      await until('50 responses', () => responses() >= 50, 90_000, () => w.stderr());
      const st = json<{ tasks: { id: string; state: string }[] }>(await gitbus(['status', '--json'], { home }));
      const states = new Map(st.tasks.map((t) => [t.id, t.state]));
      expect(out.ids.every((id) => states.get(id) === 'succeeded'), JSON.stringify(st.tasks)).toBe(true);
    } finally {
      w.child.kill('SIGTERM');
      await w.exited;
    }
  }, 150_000);

  it('writes nothing when one line is bad, and names every bad line and its field', async () => {
    const file = join(bus.dir, 'bad.jsonl');
    writeFileSync(file, jsonl([{ title: 'good 1', command: 'true' }, { title: 'good 2', command: 'true' }, { title: 'bad', command: 'true', priority: 'high' }, { title: 'good 3', command: 'true' }, { title: 'typo', comand: 'true' }]));
    const before = head();
    const r = await gitbus(['dispatch', '--from', file, '--no-git'], { home });
    expect(r.code).toBe(8);
    expect(r.stderr).toContain(`${file}:3 (field priority): expected a whole number from -1000 to 1000`);
    expect(r.stderr).toMatch(new RegExp(`also error: ${file.replace(/[/.]/g, '\\$&')}:5 \\(comand\\): unknown field "comand"\\n\\s+fix: remove it or rename it to "command"`));
    expect(r.stderr).toContain('nothing was dispatched');
    // Read top down: the first problem and its fix, then the others.
    expect(r.stderr.indexOf(`${file}:3 (field priority)`)).toBeLessThan(r.stderr.indexOf('also error'));
    const j = json<{ error: { code: string; data: { problems: { path: string; field: string }[] } } }>(await gitbus(['dispatch', '--from', file, '--json', '--no-git'], { home }));
    expect(j.error.code).toBe('INVALID_BATCH');
    expect(j.error.data.problems.map((p) => `${p.path} ${p.field}`)).toEqual([`${file}:3 priority`, `${file}:5 comand`]);
    expect(head()).toBe(before);
    // Nothing of it waits in the queue either.
    expect(existsSync(join(home, 'queue')) ? readdirSync(join(home, 'queue')).filter((n) => n.endsWith('.dispatch.json')) : []).toEqual([]);
  });

  it('names the file\'s problems and the bus\'s in one run, in the order of the file, and blames --to for the default it gave', async () => {
    const file = join(bus.dir, 'both.jsonl');
    writeFileSync(file, jsonl([{ title: 'a', comand: 'ls' }, { title: 'e', to: 'nosuchnode' }, { title: 'fine', to: 'worker', command: 'true' }, { title: 'p', to: 'worker', priority: 'high' }]));
    const before = head();
    const r = await gitbus(['dispatch', '--from', file, '--json', '--no-git'], { home });
    expect(r.code, r.stderr).toBe(8);
    type Problems = { error: { code: string; data: { problems: { path: string; field: string; reason: string }[] } } };
    const err = json<Problems>(r).error;
    expect(err.code).toBe('INVALID_BATCH');
    // The unknown node of line 2 (a check against the bus) with the schema's problems of lines 1 and 4, not after them.
    expect(err.data.problems.map((p) => `${p.path} ${p.field}`)).toEqual([`${file}:1 comand`, `${file}:2 to`, `${file}:4 priority`]);
    expect(err.data.problems[1]?.reason).toContain('no node named "nosuchnode" is on this bus');
    const human = await gitbus(['dispatch', '--from', file, '--no-git'], { home });
    expect(human.stderr).toMatch(/\(\+2 more problems; nothing was dispatched\)/);
    expect(human.stderr).toContain(`also error: ${file}:2 (to): no node named "nosuchnode"`);

    // A default from the command line is the flag's problem, named once with the lines that took it.
    const piped = jsonl([{ title: 'f' }, { title: 'g', to: 'worker' }, { title: 'h' }]);
    const dry = await gitbus(['dispatch', '--from', '-', '--to', 'nosuchnode', '--dry-run', '--no-git'], { home, input: piped });
    expect(dry.code, dry.stderr).toBe(8);
    expect(dry.stderr).toContain('gitbus: --to: no node named "nosuchnode" is on this bus');
    expect(dry.stderr).toContain('(the "to" of stdin:1, stdin:3, which have none of their own)');
    expect(dry.stderr).toContain('fix: correct --to, or give those lines a "to" of their own');
    expect(dry.stderr).not.toContain('(field to)');
    const dryJson = json<Problems>(await gitbus(['dispatch', '--from', '-', '--to', 'nosuchnode', '--dry-run', '--json', '--no-git'], { home, input: piped }));
    expect(dryJson.error.data.problems.map((p) => `${p.path} ${p.field}`)).toEqual(['--to ']);
    expect(head()).toBe(before);
  });

  it('blames --label for the labels it gave lines that name their node, and a line\'s own labels on that line', async () => {
    const piped = jsonl([{ title: 'f', to: 'worker', command: 'true' }, { title: 'g', to: 'worker', command: 'true', labels: ['fast'] }, { title: 'h', to: 'worker', command: 'true' }]);
    const before = head();
    type Problems = { error: { code: string; data: { problems: { path: string; field: string; reason: string; fix: string }[] } } };
    const r = json<Problems>(await gitbus(['dispatch', '--from', '-', '--label', 'gpu', '--dry-run', '--json', '--no-git'], { home, input: piped }));
    expect(r.error.data.problems.map((p) => `${p.path} ${p.field}`)).toEqual(['--label ', 'stdin:2 to']);
    expect(r.error.data.problems[0]?.reason).toBe('node worker cannot run this task: it lacks the label(s) gpu (the "labels" of stdin:1, stdin:3, which have none of their own)');
    expect(r.error.data.problems[0]?.fix).toMatch(/^correct --label, or give those lines "labels" of their own; drop those labels, or add them to worker/);
    expect(r.error.data.problems[1]?.reason).toBe('node worker cannot run this task: it lacks the label(s) fast');
    const human = await gitbus(['dispatch', '--from', '-', '--label', 'gpu', '--no-git'], { home, input: piped });
    expect(human.code, human.stderr).toBe(8);
    expect(human.stderr).toContain('gitbus: --label: node worker cannot run this task: it lacks the label(s) gpu');
    expect(human.stderr).not.toContain('stdin:1 (field to)');
    expect(head()).toBe(before);
  });

  it('refuses tasks of the batch that wait for each other in a ring, naming their lines, and writes nothing', async () => {
    const file = join(bus.dir, 'ring.jsonl');
    writeFileSync(file, jsonl([{ title: 'ring a', id: 'ring-a', after: ['ring-b'], command: 'true' }, { title: 'ring b', id: 'ring-b', after: ['ring-a'], command: 'true' }, { title: 'after the ring', command: 'true', after: ['ring-a'] }]));
    const before = head();
    const r = await gitbus(['dispatch', '--from', file, '--json', '--no-git'], { home });
    expect(r.code, r.stderr).toBe(8);
    const err = json<{ error: { code: string; data: { problems: { path: string; field: string; reason: string }[] } } }>(r).error;
    expect(err.code).toBe('INVALID_BATCH');
    expect(err.data.problems).toEqual([expect.objectContaining({ path: `${file}:1`, field: 'after', reason: `the batch's tasks wait for each other in a ring, so none of them could ever run: ring-a (${file}:1) -> ring-b (${file}:2) -> ring-a (${file}:1)` })]);
    expect(head()).toBe(before);
  });

  it('reads a FIFO or a device only to the cap: one that never ends is refused, naming the file and the limit', async () => {
    const fifo = join(bus.dir, 'endless.fifo');
    execFileSync('mkfifo', [fifo]);
    // A writer with more than the cap to give (yes never ends); killed by the pipe closing, or at the end of the test.
    const writer = spawn('sh', ['-c', `exec yes '{"title":"x"}' > "$1"`, 'sh', fifo], { stdio: 'ignore' });
    children.push(writer);
    for (const file of [fifo, '/dev/zero']) {
      const r = await gitbus(['dispatch', '--from', file, '--dry-run', '--json', '--no-git'], { home, timeoutMs: 60_000 });
      expect(r.code, r.stderr).toBe(2);
      expect(json<{ error: { code: string; message: string } }>(r).error).toMatchObject({ code: 'BATCH_TOO_LARGE', message: `${file} is more than 64 MiB; one batch (one commit) takes at most 64 MiB, so nothing was dispatched` });
    }
    writer.kill('SIGKILL');
  }, 120_000);

  it('says in words why a batch file cannot be read: missing, a folder', async () => {
    const missing = join(bus.dir, 'missing.jsonl');
    for (const [file, why] of [[missing, `${missing} does not exist`], [bus.dir, `${bus.dir} is a folder, not a file`]] as const) {
      const r = await gitbus(['dispatch', '--from', file, '--no-git'], { home });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(`gitbus: ${why}\n`);
      expect(r.stderr).not.toMatch(/ENOENT|EISDIR/);
    }
  });

  it('reads standard input, YAML or JSON Lines, and refuses flags that describe one task', async () => {
    const before = commits();
    const yaml = 'tasks:\n  - title: from stdin one\n    command: "true"\n  - title: from stdin two\n    body: |\n      Two lines\n      of body.\n';
    const r = await gitbus(['dispatch', '--from', '-', '--json', '--no-git'], { home, input: yaml });
    expect(r.code, r.stderr).toBe(0);
    const out = json<Out>(r);
    expect(out.tasks.map((t) => [t.title, t.at])).toEqual([['from stdin one', 'stdin:2'], ['from stdin two', 'stdin:4']]);
    expect(fileAt(`handoffs/${out.ids[1]}.md`)).toContain('## Task\n\nTwo lines\nof body.\n');
    const plain = await gitbus(['dispatch', '--from', '-', '--no-git'], { home, input: jsonl([{ title: 'piped', command: 'true' }]) });
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout.trim()).toMatch(/^\d{8}-\d{6}-[a-z0-9]+$/);
    expect(plain.stderr).toMatch(/dispatched 1 task in one commit/);
    expect(commits()).toBe(before + 2);
    const refused = await gitbus(['dispatch', '--from', '-', '--command', 'make', '--no-git'], { home, input: jsonl([{ title: 'x' }]) });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--command describes one task.*\n.*write "command" in the task lines/);
    expect((await gitbus(['dispatch', 'a title', '--from', '-'], { home, input: '' })).code).toBe(2);
    const tooMany = await gitbus(['dispatch', '--from', '-', '--json', '--no-git'], { home, input: jsonl(Array.from({ length: 1001 }, (_, i) => ({ title: `t${i}` }))) });
    expect(tooMany.code).toBe(2);
    expect(json<{ error: { code: string; message: string } }>(tooMany).error).toMatchObject({ code: 'BATCH_TOO_LARGE', message: expect.stringContaining('stdin has 1001 tasks; one batch (one commit) takes at most 1000 tasks') });
    const dry = await gitbus(['dispatch', '--from', '-', '--dry-run', '--no-git'], { home, input: jsonl([{ title: 'only shown', command: 'true' }]) });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('title: only shown');
    expect(commits()).toBe(before + 2);
  });

  it('fills repo, base and base commit once from the checkout for every task, branch gitbus/<id> each, unless --no-repo or --no-git', async () => {
    const project = join(bus.dir, 'project.git');
    const work = join(bus.dir, 'work');
    gitCli(['init', '-q', '--bare', '-b', 'main', project]);
    gitCli(['init', '-q', '-b', 'main', work]);
    gitCli(['remote', 'add', 'origin', project], work);
    writeFileSync(join(work, 'README'), 'app\n');
    gitCli(['add', '-A'], work);
    gitCli(['commit', '-q', '-m', 'base'], work);
    gitCli(['push', '-q', '-u', 'origin', 'main'], work);
    const baseCommit = gitCli(['rev-parse', 'HEAD'], work).trim();
    const input = jsonl([{ title: 'p1', command: 'true' }, { title: 'p2', command: 'true', branch: 'feature/p2' }, { title: 'p3', command: 'true', schedule: '0 3 * * *' }]);
    const r = await gitbus(['dispatch', '--from', '-', '--json'], { home, cwd: work, input });
    expect(r.code, r.stderr).toBe(0);
    const out = json<Out>(r);
    const [a, b, c] = out.ids.map((id) => frontmatter(fileAt(`handoffs/${id}.md`)));
    expect(a).toMatchObject({ repo: project, base: 'main', baseCommit, branch: `gitbus/${out.ids[0]}` });
    expect(b).toMatchObject({ repo: project, base: 'main', baseCommit, branch: 'feature/p2' });
    expect(c).toMatchObject({ repo: project, base: 'main' });
    expect(c?.['baseCommit']).toBeUndefined();
    expect(fileAt(`handoffs/${out.ids[0]}.md`)).toContain('## Git state');
    const plain = json<Out>(await gitbus(['dispatch', '--from', '-', '--json', '--no-repo'], { home, cwd: work, input: jsonl([{ title: 'no project', command: 'true' }]) }));
    expect(frontmatter(fileAt(`handoffs/${plain.ids[0]}.md`))['repo']).toBeUndefined();
    // A line that needs a repo is told that --no-repo kept the checkout's from it.
    const merge = await gitbus(['dispatch', '--from', '-', '--json', '--no-repo', '--dry-run'], { home, cwd: work, input: jsonl([{ title: 'integrate', runner: 'merge', merge: ['a'] }]) });
    expect(merge.code).toBe(8);
    const repoProblem = json<{ error: { data: { problems: { path: string; field: string; fix: string }[] } } }>(merge).error.data.problems.find((p) => p.field === 'repo');
    expect(repoProblem).toMatchObject({ path: 'stdin:1', fix: expect.stringContaining('--no-repo keeps this checkout\'s repo from every line of the batch') });
    // So is one that --no-git kept it from: the checkout is not read at all.
    const unread = await gitbus(['dispatch', '--from', '-', '--json', '--no-git', '--dry-run'], { home, cwd: work, input: jsonl([{ title: 'integrate', runner: 'merge', merge: ['a'] }]) });
    expect(unread.code).toBe(8);
    const unreadProblem = json<{ error: { data: { problems: { path: string; field: string; fix: string }[] } } }>(unread).error.data.problems.find((p) => p.field === 'repo');
    expect(unreadProblem).toMatchObject({ path: 'stdin:1', fix: expect.stringContaining('--no-git leaves the checkout unread: no line of the batch takes its repo, so this one must name its own') });
    // With --repo as well, the lines take that one: --no-git kept nothing from them.
    const given = await gitbus(['dispatch', '--from', '-', '--json', '--no-git', '--repo', project, '--dry-run'], { home, cwd: work, input: jsonl([{ title: 'integrate', runner: 'merge', merge: ['a'] }]) });
    expect(given.code, given.stderr).toBe(0);
  });

  it('offline, queues the whole batch and delivers it in one commit at the next contact', async () => {
    const away = `${bus.remote}.away`;
    renameSync(bus.remote, away);
    let out: Out;
    try {
      const r = await gitbus(['dispatch', '--from', '-', '--json', '--no-git'], { home, input: jsonl(Array.from({ length: 5 }, (_, i) => ({ title: `offline ${i}`, command: 'true' }))) });
      expect(r.code, r.stderr).toBe(0);
      out = json<Out>(r);
      expect(out.queued?.reason).toContain(bus.remote);
      expect(out.commit).toBeNull();
      expect(r.stderr).toMatch(/queued 5 tasks on this node.*in one commit at the next contact/);
    } finally {
      renameSync(away, bus.remote);
    }
    const before = commits();
    const st = await gitbus(['status'], { home });
    expect(st.code, st.stderr).toBe(0);
    expect(commits()).toBe(before + 1);
    expect(changed('main')).toEqual(out.ids.map((id) => `handoffs/${id}.md`).sort());
    expect(gitCli(['--git-dir', bus.remote, 'log', '-1', '--format=%s', 'main']).trim()).toBe('gitbus: dispatch 5 tasks');
  });
});

describe('dispatch --from on a bus with a trust root', () => {
  it('signs every handoff, one sidecar each in the batch commit, and a node that pinned the root runs them', async () => {
    const t = await makeBus({ node: 'boss' });
    try {
      const boss = t.home('boss');
      const keys = join(t.dir, 'keys');
      mkdirSync(keys);
      const key = join(keys, 'alice');
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'alice', '-f', key]);
      const fp = fingerprintOf(`${key}.pub`);
      for (const args of [['trust', 'init', '--admin', `alice=${key}.pub`, '--unlisted-nodes', 'accept'], ['trust', 'add', 'rule', '--signers', 'alice', '--runners', 'shell', '--nodes', '*']]) {
        const r = await gitbus([...args, '--key', key, '--json'], { home: boss });
        expect(r.code, r.stderr).toBe(0);
      }
      const w = await t.addNode('w', [], ['--runner', 'shell', '--parallel', '3', '--trust', fp]);
      const cfg = join(boss, 'node.yaml');
      writeFileSync(cfg, stringify({ ...(parse(readFileSync(cfg, 'utf8')) as object), signingKey: key }));
      const marker = (i: number) => join(t.dir, `ran-${i}`);
      const r = await gitbus(['dispatch', '--from', '-', '--json', '--no-git'], { home: boss, input: jsonl([0, 1, 2].map((i) => ({ title: `signed ${i}`, command: `touch ${marker(i)}`, to: 'w' }))), env: { GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' } });
      expect(r.code, r.stderr).toBe(0);
      const out = json<Out>(r);
      expect(out.commit).toBe(head(t.remote));
      expect(changed('main', t.remote)).toEqual(out.ids.flatMap((id) => [`handoffs/${id}.md`, `signatures/handoffs/${id}.md.sig`]).sort());
      const v = json<{ files: { path: string; status: string }[] }>(await gitbus(['verify', out.ids[2] ?? '', '--json'], { home: boss }));
      expect(v.files[0]?.status).toBe('verified');
      const watcher = startWatcher(w, ['--poll', '500ms'], children);
      try {
        const done = () => gitCli(['--git-dir', t.remote, 'ls-tree', '--name-only', 'main', 'responses/']).split('\n').filter(Boolean).length;
        await until('3 responses', () => done() >= 3, 20_000, () => watcher.stderr());
        for (const id of out.ids) expect(frontmatter(fileAt(`responses/${id}.md`, t.remote))['status']).toBe('succeeded');
      } finally {
        watcher.child.kill('SIGTERM');
        await watcher.exited;
      }
    } finally {
      await t.cleanup();
    }
  }, 40_000);
});
