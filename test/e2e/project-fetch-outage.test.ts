import { describe, it, expect, afterAll } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parse } from 'yaml';
import { makeBus } from '../helpers/bus.js';
import { showInProcess } from '../helpers/in-process.js';
import { editNode, makeProject, pushHandoffs, showFile } from '../helpers/project.js';
import { startWatcher, type WatcherProcess } from '../helpers/watcher-process.js';
import { until } from '../helpers/wait.js';
import { gitbus, gitCli } from '../helpers/cli.js';

/**
 * A project remote out of reach when a project task starts (seed 001: the box is often offline): the watcher
 * fetches again, --retry apart, for up to the bus's lease while it holds the claim, and then gives the claim back
 * for a later attempt instead of failing the task for good; only the last allowed attempt fails, saying why. Real
 * processes, a real bare project remote moved away and back.
 */
type Shown = { state: string; files: { path: string; text: string }[] };

const children: ChildProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  for (const c of cleanups) await c();
});

function frontmatter(text: string): Record<string, unknown> {
  return parse(text.split('---\n')[1] ?? '') as Record<string, unknown>;
}

/** A bus with one shell node `w1` (its lease is how long a start waits for the project remote), and a project. */
async function setUp(initArgs: string[]) {
  const bus = await makeBus({ initArgs: ['--heartbeat', '1s', ...initArgs] });
  cleanups.push(bus.cleanup);
  const w1 = await bus.addNode('w1', [], ['--runner', 'shell']);
  const project = makeProject(bus.dir);
  const away = `${project.remote}.away`;
  const person = join(bus.dir, 'person');
  const dispatch = (id: string) => pushHandoffs(person, bus.remote, [{ id, frontmatter: { to: 'w1', repo: project.remote, base: 'main', command: `echo ${id} > out.txt` } }]);
  const file = async (id: string, prefix: string) => (await showInProcess<Shown>(bus.home('alpha'), id)).files.find((f) => f.path.startsWith(prefix));
  /**
   * Once the remote is back: the task ran in its first attempt, claimed once and never given back, its branch pushed
   * with what it wrote, its log saying it was answered after the wait. Its response's frontmatter.
   */
  const ranFirstTime = async (w: WatcherProcess, id: string, wrote: string, log: string): Promise<Record<string, unknown>> => {
    await until('the result', () => w.events().some((e) => e.type === 'delivered' && e.id === id), 60_000, explain(w));
    expect(w.events().filter((e) => e.id === id && (e.type === 'released' || e.type === 'claimed')).map((e) => e.type)).toEqual(['claimed']);
    const r = frontmatter((await file(id, 'responses/'))?.text ?? '');
    expect(r).toMatchObject({ status: 'succeeded', attempt: 1 });
    expect(showFile(project.remote, `gitbus/${id}`, 'out.txt')).toBe(wrote);
    expect(readFileSync(log, 'utf8')).toContain('answered after');
    return r;
  };
  /** Stops the watcher and puts the project remote back if a test left it away. */
  const stop = async (w: WatcherProcess): Promise<void> => {
    w.child.kill('SIGTERM');
    await w.exited;
    if (existsSync(away) && !existsSync(project.remote)) renameSync(away, project.remote);
  };
  return { bus, w1, project, away, dispatch, file, ranFirstTime, stop };
}

function explain(w: WatcherProcess): () => string {
  return () => `${w.events().map((e) => JSON.stringify(e)).join('\n')}\n${w.stderr()}`;
}

describe('a project remote out of reach at a task\'s start', () => {
  it('is fetched again until it is back, and the task runs in its first attempt; the task\'s log says what git said', async () => {
    const s = await setUp(['--lease', '2m']);
    renameSync(s.project.remote, s.away);
    s.dispatch('fo-back');
    const w = startWatcher(s.w1, ['--poll', '1s', '--retry', '1s', '--retry-max', '1s'], children);
    try {
      const log = join(s.w1, 'logs', 'fo-back.1.log');
      await until('the task\'s log to say the project remote cannot be reached', () => existsSync(log) && readFileSync(log, 'utf8').includes('cannot be reached'), 60_000, explain(w));
      const note = readFileSync(log, 'utf8');
      // git's own line, not the boilerplate it closes with.
      expect(note).toContain('does not appear to be a git repository');
      expect(note).not.toContain('and the repository exists');
      renameSync(s.away, s.project.remote);
      await s.ranFirstTime(w, 'fo-back', 'fo-back\n', log);
    } finally {
      await s.stop(w);
    }
  }, 150_000);

  it('still away after the lease: the claim is given back saying why, and the next attempt runs once the remote is back', async () => {
    const s = await setUp(['--lease', '4s']);
    renameSync(s.project.remote, s.away);
    s.dispatch('fo-later');
    const w = startWatcher(s.w1, ['--poll', '1s', '--retry', '1s', '--retry-max', '1s'], children);
    try {
      await until('attempt 1 to be given back or answered', () => w.events().some((e) => e.id === 'fo-later' && (e.type === 'released' || e.type === 'finished')), 60_000, explain(w));
      const released = w.events().find((e) => e.id === 'fo-later' && e.type === 'released');
      expect(released, explain(w)()).toMatchObject({ attempt: 1 });
      expect(String(released?.['reason'])).toMatch(/^the project remote .*proj\.git could not be reached for \d+s \(fatal: '.*proj\.git' does not appear to be a git repository\): given back to be tried again$/);
      const release = await s.file('fo-later', 'releases/fo-later.1');
      expect(frontmatter(release?.text ?? '')).toMatchObject({ node: 'w1', reason: released?.['reason'] });
      renameSync(s.away, s.project.remote);
      await until('the result of a later attempt', () => w.events().some((e) => e.type === 'delivered' && e.id === 'fo-later'), 60_000, explain(w));
      const r = frontmatter((await s.file('fo-later', 'responses/'))?.text ?? '');
      expect(r).toMatchObject({ status: 'succeeded' });
      expect(Number(r['attempt'])).toBeGreaterThanOrEqual(2);
      expect(showFile(s.project.remote, 'gitbus/fo-later', 'out.txt')).toBe('fo-later\n');
    } finally {
      await s.stop(w);
    }
  }, 150_000);

  it('at the last allowed attempt the task fails, its reason saying the remote could not be reached and why it was not given back', async () => {
    const s = await setUp(['--lease', '3s', '--max-attempts', '1']);
    renameSync(s.project.remote, s.away);
    s.dispatch('fo-last');
    const w = startWatcher(s.w1, ['--poll', '1s', '--retry', '1s', '--retry-max', '1s'], children);
    try {
      await until('the result', () => w.events().some((e) => e.type === 'delivered' && e.id === 'fo-last'), 60_000, explain(w));
      expect(w.events().some((e) => e.type === 'released' && e.id === 'fo-last')).toBe(false);
      const r = frontmatter((await s.file('fo-last', 'responses/'))?.text ?? '');
      expect(r).toMatchObject({ status: 'failed', attempt: 1 });
      expect(String(r['reason'])).toMatch(/could not be reached for \d+s \(fatal: '.*proj\.git' does not appear to be a git repository\) \(fix: check that this node reaches it \(git ls-remote .*proj\.git works there\).*\); attempt 1 was the last of 1 allowed, so the task was not given back$/);
    } finally {
      await s.stop(w);
    }
  }, 150_000);
  it('an outage found after the fetch worked (the base fetched by id) is waited for as one at the start is, and the task runs in its first attempt', async () => {
    const s = await setUp(['--lease', '2m']);
    const person = join(s.bus.dir, 'person');
    // A base commit on no branch of the remote: the worker's fetch of every branch lacks it, so it is fetched by id.
    const co = s.project.checkout;
    gitCli(['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '--allow-empty', '-m', 'kept aside'], co);
    const aside = gitCli(['rev-parse', 'HEAD'], co).trim();
    gitCli(['push', '-q', 'origin', 'HEAD:refs/keep/aside'], co);
    gitCli(['reset', '-q', '--hard', 'HEAD~1'], co);
    // A first task makes the node's cached clone of the project.
    pushHandoffs(person, s.bus.remote, [{ id: 'fo-warm', frontmatter: { to: 'w1', repo: s.project.remote, base: 'main', command: 'true' } }]);
    const warm = await gitbus(['watch', '--once', '--json'], { home: s.w1, timeoutMs: 90_000 });
    expect(warm.code, warm.stderr).toBe(0);
    // The node's git for the project, run through a script that moves the remote away on its second fetch (the
    // fetch by id, right after the fetch of every branch worked). On PATH, not the clone's remote.origin.uploadpack:
    // gitbus fetches the project's URL, never the clone's origin, whose settings any task may have written.
    const shim = join(s.bus.dir, 'git-shim');
    mkdirSync(shim);
    const calls = join(s.bus.dir, 'fetch-calls');
    const realGit = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
    writeFileSync(join(shim, 'git'), `#!/bin/sh\ncase " $* " in *" fetch "*) echo "$*" >> '${calls}'; if [ "$(wc -l < '${calls}')" -eq 2 ]; then mv '${s.project.remote}' '${s.away}'; fi;; esac\nexec '${realGit}' "$@"\n`);
    chmodSync(join(shim, 'git'), 0o755);
    pushHandoffs(person, s.bus.remote, [{ id: 'fo-by-id', frontmatter: { to: 'w1', repo: s.project.remote, base: 'main', baseCommit: aside, command: 'echo by-id > out.txt' } }]);
    const w = startWatcher(s.w1, ['--poll', '1s', '--retry', '1s', '--retry-max', '1s'], children, { PATH: `${shim}:${process.env['PATH'] ?? ''}` });
    try {
      const log = join(s.w1, 'logs', 'fo-by-id.1.log');
      const givenBack = () => w.events().some((e) => e.id === 'fo-by-id' && e.type === 'released');
      await until('the fetch by id to find the project remote away', () => givenBack() || (existsSync(log) && readFileSync(log, 'utf8').includes('cannot be reached')), 60_000, explain(w));
      expect(givenBack(), explain(w)()).toBe(false);
      expect(readFileSync(calls, 'utf8').split('\n').filter(Boolean).length).toBeGreaterThanOrEqual(2);
      renameSync(s.away, s.project.remote);
      const r = await s.ranFirstTime(w, 'fo-by-id', 'by-id\n', log);
      expect((r['project'] as Record<string, unknown>)['baseCommit']).toBe(aside);
    } finally {
      await s.stop(w);
    }
  }, 150_000);

  it('a maxAttempts lowered in gitbus.yaml while the start waits is what decides the last attempt: the holder fails it with the reason rather than release it', async () => {
    // The watcher reads gitbus.yaml when it claims and at its housekeeping, once a heartbeat (11s; the lease's third
    // paces only the holder's beats): the first at its first tick (4s), the next long after the give-back (12s).
    const s = await setUp(['--lease', '12s', '--heartbeat', '11s', '--poll', '1s', '--max-attempts', '3']);
    renameSync(s.project.remote, s.away);
    s.dispatch('fo-lowered');
    const watching = gitbus(['watch', '--once', '--json', '--retry', '1s', '--retry-max', '1s'], { home: s.w1, process: true, timeoutMs: 90_000 });
    try {
      const log = join(s.w1, 'logs', 'fo-lowered.1.log');
      // Six fetches a second apart: past the first housekeeping, well before the give-back; the watcher still
      // takes 3 for the bus's maxAttempts when the change below lands.
      await until('the start to wait for the project remote', () => existsSync(log) && readFileSync(log, 'utf8').split('cannot be reached').length > 6, 60_000);
      const work = join(s.bus.dir, 'settings-work');
      gitCli(['clone', '-q', '-b', 'main', s.bus.remote, work]);
      const yaml = readFileSync(join(work, 'gitbus.yaml'), 'utf8');
      writeFileSync(join(work, 'gitbus.yaml'), yaml.replace(/^maxAttempts: .*$/m, 'maxAttempts: 1'));
      gitCli(['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qam', 'one attempt'], work);
      gitCli(['push', '-q', 'origin', 'HEAD:main'], work);
      const r = await watching;
      expect(r.code, r.stderr).toBe(0);
      expect(await s.file('fo-lowered', 'releases/')).toBeUndefined();
      const resp = frontmatter((await s.file('fo-lowered', 'responses/'))?.text ?? '');
      expect(resp, r.stdout).toMatchObject({ status: 'failed', attempt: 1, node: 'w1' });
      expect(String(resp['reason'])).toMatch(/could not be reached for \d+s \(fatal: '.*proj\.git' does not appear to be a git repository\) \(fix: check that this node reaches it \(git ls-remote .*proj\.git works there\).*\); attempt 1 was the last of 1 allowed, so the task was not given back$/);
    } finally {
      await watching.catch(() => undefined);
      if (existsSync(s.away) && !existsSync(s.project.remote)) renameSync(s.away, s.project.remote);
    }
  }, 150_000);

  it('a node that gave a task back steps aside for a lease, and a node that reaches the remote runs it', async () => {
    // w1 is ranked first for this id (it would take it straight back), and its node.yaml names a path that is no
    // repository for the project; w2's names the real remote.
    const bus = await makeBus({ initArgs: ['--heartbeat', '1s', '--lease', '4s'] });
    cleanups.push(bus.cleanup);
    const w1 = await bus.addNode('w1', [], ['--runner', 'shell']);
    const w2 = await bus.addNode('w2', [], ['--runner', 'shell']);
    const project = makeProject(bus.dir);
    editNode(w1, (c) => ({ ...c, projects: { proj: { url: join(bus.dir, 'nowhere', 'proj.git') } } }));
    editNode(w2, (c) => ({ ...c, projects: { proj: { url: project.remote } } }));
    const flags = ['--poll', '1s', '--retry', '1s', '--retry-max', '1s'];
    const a = startWatcher(w1, flags, children);
    const b = startWatcher(w2, flags, children);
    const both = () => `w1:\n${explain(a)()}\nw2:\n${explain(b)()}`;
    try {
      // Each holding its home's lock, its first look next (`serving`, or `serve-off` where it may not serve): a w1
      // still starting when the task lands is rightly overtaken by w2 (a fresh-clone run on a busy machine saw w1
      // lock its home 3 s after it started, and w2 take the task at attempt 1).
      const ready = (w: typeof a) => w.events().some((e) => e.type === 'serving' || e.type === 'serve-off');
      await until('both watchers to hold their homes', () => ready(a) && ready(b), 30_000, both);
      pushHandoffs(join(bus.dir, 'person'), bus.remote, [{ id: 'rl-a', frontmatter: { repo: 'proj', base: 'main', command: 'echo hi > out.txt' } }]);
      let shown: Shown = { state: '', files: [] };
      await until('the task to end', async () => ['succeeded', 'failed'].includes((shown = await showInProcess<Shown>(bus.home('alpha'), 'rl-a')).state), 90_000, both);
      const r = frontmatter(shown.files.find((f) => f.path.startsWith('responses/'))?.text ?? '');
      expect(r, both()).toMatchObject({ status: 'succeeded', node: 'w2', attempt: 2 });
      expect(a.events().filter((e) => e.id === 'rl-a').map((e) => `${String(e.type)}:${String(e['attempt'])}`)).toEqual(['claimed:1', 'released:1']);
      expect(showFile(project.remote, 'gitbus/rl-a', 'out.txt')).toBe('hi\n');
    } finally {
      a.child.kill('SIGTERM');
      b.child.kill('SIGTERM');
      await a.exited;
      await b.exited;
    }
  }, 150_000);
});
