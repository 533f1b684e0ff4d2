import { afterAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitbus, gitCli, json } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { pointAt } from '../helpers/in-process.js';
import { mainListing, mainOf } from '../helpers/refs.js';
import { startWatcher } from '../helpers/watcher-process.js';
import { until } from '../helpers/wait.js';

/**
 * A remote whose main is not the bus this node knows: node.yaml pointed at a project's repository, or the bus's main
 * replaced by a force-push. A node writes nothing on top of such a main and runs nothing from it.
 */
const children: ChildProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  for (const c of cleanups.reverse()) await c();
});

/** A project's repository as plain git makes it: one commit on main, no gitbus.yaml. */
function projectRepo(dir: string): string {
  const work = join(dir, 'proj');
  gitCli(['init', '-q', '-b', 'main', work]);
  gitCli(['-c', 'user.name=p', '-c', 'user.email=p@p', 'commit', '-q', '--allow-empty', '-m', 'project code'], work);
  const bare = join(dir, 'proj.git');
  gitCli(['clone', '-q', '--bare', work, bare]);
  return bare;
}

describe('a remote main that is not a bus', () => {
  it('is refused as NOT_A_BUS by dispatch and the watcher, and nothing is written into it', { timeout: 120_000 }, async () => {
    const bus = await makeBus({ node: 'boss' });
    cleanups.push(bus.cleanup);
    const home = await bus.addNode('a', [], ['--runner', 'shell']);
    const proj = projectRepo(bus.dir);
    const before = mainOf(proj);
    const lastSeen = mainOf(bus.remote) as string;
    await pointAt(home, proj);
    // The clone still holds the bus's main: the project's history does not carry it.
    const first = await gitbus(['dispatch', 'hello', '--command', 'true', '--no-git', '--json'], { home });
    expect(first.code, first.stdout + first.stderr).toBe(6);
    expect(json<{ error: { code: string } }>(first).error.code).toBe('REMOTE_MAIN_REWOUND');
    // A person who means it accepts the new main on this node, as the error's fix says: then it is judged as a bus.
    gitCli(['--git-dir', join(home, 'clone.git'), 'update-ref', 'refs/heads/main', before as string, lastSeen]);
    const d = await gitbus(['dispatch', 'hello', '--command', 'true', '--no-git', '--json'], { home });
    expect(d.code, d.stdout + d.stderr).toBe(7);
    const err = json<{ error: { code: string; message: string; fix: string } }>(d).error;
    expect(err.code).toBe('NOT_A_BUS');
    expect(err.message).toContain('has no gitbus.yaml');
    expect(err.fix).toContain(join(home, 'node.yaml'));
    const w = await gitbus(['watch', '--once', '--json'], { home, timeoutMs: 60_000 });
    expect(w.code, w.stdout + w.stderr).toBe(7);
    expect(w.stdout + w.stderr).toContain('NOT_A_BUS');
    expect(w.stdout).not.toContain('"claimed"');
    expect(mainOf(proj)).toBe(before);
    expect(gitCli(['--git-dir', proj, 'ls-tree', '-r', '--name-only', 'main']).trim()).toBe('');
  });
});

describe('a remote main moved back to an older commit', () => {
  it('stops the watcher, reported once with the fix, instead of running finished tasks again; putting main back resumes it', { timeout: 120_000 }, async () => {
    const bus = await makeBus({ node: 'boss' });
    cleanups.push(bus.cleanup);
    const home = await bus.addNode('a', [], ['--runner', 'shell']);
    const ran = join(bus.dir, 'ran.txt');
    const id = await bus.dispatch('boss', ['once', '--to', 'a', '--command', `echo "$GITBUS_ATTEMPT" >> '${ran}'`]);
    const dispatched = mainOf(bus.remote) as string;
    const watcher = startWatcher(home, ['--poll', '1s', '--no-serve', '--retry', '1s', '--retry-max', '2s'], children);
    const explain = () => `${JSON.stringify(watcher.events())}\n${watcher.stderr()}`;
    const responses = mainListing(bus.remote, 'responses');
    await until('the task to be answered', () => responses().includes(`responses/${id}.md`), 45_000, explain);
    const answered = mainOf(bus.remote) as string;
    await until('the watcher to see its answer', () => (mainOf(join(home, 'clone.git')) ?? '') === answered, 20_000, explain);

    // A force-push back to the dispatch: the task looks pending again.
    gitCli(['--git-dir', bus.remote, 'update-ref', 'refs/heads/main', dispatched]);
    await until('the watcher to report the rewind', () => watcher.events().some((e) => e.type === 'remote-down'), 30_000, explain);
    const down = watcher.events().find((e) => e.type === 'remote-down');
    expect(down?.['code']).toBe('REMOTE_MAIN_REWOUND');
    expect(String(down?.['fix'])).toContain(`push --force-with-lease=refs/heads/main:${dispatched}`);
    expect(String(down?.['fix'])).toContain(`update-ref refs/heads/main ${dispatched} `);
    // Several retries (1-2 s apart) while main stays rewound: still one report, nothing claimed or written.
    const downAt = Date.now();
    await until('the rewind to last 6 s', () => Date.now() - downAt >= 6_000, 10_000);
    expect(watcher.events().filter((e) => e.type === 'remote-down' || e.type === 'error'), explain()).toHaveLength(1);
    expect(watcher.events().filter((e) => e.type === 'claimed')).toHaveLength(1);
    expect(mainOf(bus.remote)).toBe(dispatched);

    // The fix: main put back from the node's clone (a fast-forward of what the remote has now).
    const fix = String(down?.['fix']);
    const push = /(git --git-dir \S+ push \S+ \S+ \S+:refs\/heads\/main)/.exec(fix)?.[1];
    expect(push, fix).toBeDefined();
    gitCli((push as string).split(' ').slice(1));
    expect(mainOf(bus.remote)).toBe(answered);
    await until('the watcher to be back', () => watcher.events().some((e) => e.type === 'remote-up'), 30_000, explain);
    expect(readFileSync(ran, 'utf8')).toBe('1\n');
    const s = json<{ tasks: { id: string; state: string }[] }>(await gitbus(['status', '--json'], { home: bus.home('boss') }));
    expect(s.tasks.find((t) => t.id === id)?.state).toBe('succeeded');
  });
});

describe('a remote main deleted', () => {
  it('is an outage that needs a person: reported once with the push that puts it back, and commands say the same', { timeout: 120_000 }, async () => {
    const bus = await makeBus({ node: 'boss' });
    cleanups.push(bus.cleanup);
    const home = await bus.addNode('a', [], ['--runner', 'shell']);
    const watcher = startWatcher(home, ['--poll', '1s', '--no-serve', '--retry', '1s', '--retry-max', '2s'], children);
    const explain = () => `${JSON.stringify(watcher.events())}\n${watcher.stderr()}`;
    await until('the watcher to start', () => watcher.events().some((e) => e.type === 'started'), 20_000, explain);
    const last = mainOf(join(home, 'clone.git')) as string;
    gitCli(['--git-dir', bus.remote, 'update-ref', '-d', 'refs/heads/main']);
    await until('the watcher to report main gone', () => watcher.events().some((e) => e.type === 'remote-down'), 30_000, explain);
    const down = watcher.events().find((e) => e.type === 'remote-down');
    expect(down?.['code']).toBe('REMOTE_MAIN_GONE');
    const fix = String(down?.['fix']);
    expect(fix).toContain(`push ${bus.remote} ${last}:refs/heads/main`);
    expect(fix).not.toContain('gitbus init');
    const downAt = Date.now();
    await until('main to stay gone for 5 s', () => Date.now() - downAt >= 5_000, 10_000);
    expect(watcher.events().filter((e) => e.type === 'remote-down' || e.type === 'error'), explain()).toHaveLength(1);
    const d = await gitbus(['dispatch', 'hello', '--command', 'true', '--no-git', '--json'], { home });
    expect(d.code, d.stdout + d.stderr).toBe(6);
    const err = json<{ error: { code: string; fix: string } }>(d).error;
    expect(err.code).toBe('REMOTE_MAIN_GONE');
    expect(err.fix).toContain(`${last}:refs/heads/main`);
    // The fix, as given: main is back and so is the watcher.
    const push = /(git --git-dir \S+ push \S+ \S+:refs\/heads\/main)/.exec(fix)?.[1];
    gitCli((push as string).split(' ').slice(1));
    await until('the watcher to be back', () => watcher.events().some((e) => e.type === 'remote-up'), 30_000, explain);
  });
});

describe("a main whose gitbus.yaml a commit deleted", () => {
  it('is said once by the watcher, and the same by dispatch, doctor and lint, with the fix that brings the file back by a commit; following it resumes work', { timeout: 120_000 }, async () => {
    const bus = await makeBus({ node: 'boss' });
    cleanups.push(bus.cleanup);
    const home = await bus.addNode('a', [], ['--runner', 'shell']);
    const watcher = startWatcher(home, ['--poll', '1s', '--no-serve'], children);
    const explain = () => `${JSON.stringify(watcher.events())}\n${watcher.stderr()}`;
    await until('the watcher to start', () => watcher.events().some((e) => e.type === 'started'), 20_000, explain);
    const work = join(bus.dir, 'work');
    gitCli(['clone', '-q', bus.remote, work]);
    const commit = (message: string) => {
      gitCli(['-c', 'user.name=p', '-c', 'user.email=p@x.invalid', 'commit', '-q', '-m', message], work);
      gitCli(['push', '-q', 'origin', 'HEAD:main'], work);
    };
    gitCli(['rm', '-q', 'gitbus.yaml'], work);
    commit('tidy up');
    const id = await bus.dispatch('boss', ['after the file went', '--to', 'a', '--command', 'true']).catch((e: unknown) => String(e));
    expect(id).toContain('has no gitbus.yaml');

    const restore = 'git checkout C~1 -- gitbus.yaml';
    await until('the watcher to say it', () => watcher.events().some((e) => e.type === 'error' && e['code'] === 'NOT_A_BUS'), 30_000, explain);
    const said = watcher.events().find((e) => e.type === 'error');
    expect(String(said?.['fix'])).toContain(restore);
    // Wakes at every poll meanwhile: said once for this main.
    const saidAt = Date.now();
    await until('4 s more', () => Date.now() - saidAt >= 4_000, 10_000);
    expect(watcher.events().filter((e) => e.type === 'error'), explain()).toHaveLength(1);

    const d = await gitbus(['dispatch', 'hello', '--command', 'true', '--no-git', '--json'], { home: bus.home('boss') });
    expect(d.code, d.stdout + d.stderr).toBe(7);
    expect(json<{ error: { code: string; fix: string } }>(d).error.fix).toContain(restore);
    const doctor = json<{ checks: { name: string; fix?: string }[] }>(await gitbus(['doctor', '--json'], { home: bus.home('boss') }));
    expect(doctor.checks.find((c) => c.name === 'remote.bus')?.fix).toContain(restore);
    const lint = json<{ problems: { path: string; reason: string; fix: string }[] }>(await gitbus(['lint', '--json'], { home: bus.home('boss') }));
    const missing = lint.problems.find((p) => p.path === 'gitbus.yaml');
    expect(missing?.fix).toContain(restore);
    expect(missing?.fix).not.toContain('defaults are used');

    // The fix, as given: the commit that deleted it named, the file brought back from the one before.
    const deleted = gitCli(['log', '--diff-filter=D', '-1', '--format=%H', '--', 'gitbus.yaml'], work).trim();
    gitCli(['checkout', `${deleted}~1`, '--', 'gitbus.yaml'], work);
    commit('bring gitbus.yaml back');
    const again = await bus.dispatch('boss', ['after the file is back', '--to', 'a', '--command', 'true']);
    const responses = mainListing(bus.remote, 'responses');
    await until('the task to be answered', () => responses().includes(`responses/${again}.md`), 45_000, explain);
  });
});
