import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { gitbus, json } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { startWatcher } from '../helpers/watcher-process.js';
import { until } from '../helpers/wait.js';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startGitHttpServer } from '../helpers/git-http-server.js';
import { pointAt } from '../helpers/in-process.js';
import { mainListing } from '../helpers/refs.js';

/**
 * A claim in this watcher's name that it never ran — its push reached the remote while the answer was lost, so the
 * watcher took it for a failure — is released by the running watcher, not held for as long as the node beats.
 * Made here as such a claim looks on the bus: by `watcher`, from another process of the node's home.
 */
let bus: Awaited<ReturnType<typeof makeBus>>;
let w: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  bus = await makeBus({ node: 'boss' });
  w = await bus.addNode('w', [], ['--runner', 'shell']);
}, 30_000);

const cleanups: (() => Promise<void>)[] = [];

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  for (const c of cleanups.reverse()) await c();
  await bus?.cleanup();
});

describe('a running watcher', () => {
  it("releases a claim in its name that it is not running and has no result for", async () => {
    const watcher = startWatcher(w, ['--poll', '1s'], children);
    await until('the watcher to start', () => watcher.events().some((e) => e.type === 'started'), 20_000, () => watcher.stderr());
    // A manual task: this watcher runs shell tasks only, so it will not claim it again once released.
    const id = await bus.dispatch('boss', ['done by hand', '--to', 'w']);
    const c = await gitbus(['claim', id, '--json'], { home: w, env: { GITBUS_ACTOR: 'watcher' } });
    expect(c.code, c.stderr).toBe(0);
    await until('the orphaned claim to be released', () => watcher.events().some((e) => e.type === 'released' && e['id'] === id && e['reason'] === 'orphaned'), 30_000, () => watcher.stderr());
    const s = json<{ tasks: { id: string; state: string }[] }>(await gitbus(['status', '--json'], { home: bus.home('boss') }));
    expect(s.tasks.find((t) => t.id === id)?.state).toBe('pending');
    // A person's claim on the same node is theirs to keep: still held after the watcher released another orphan.
    const mine = await bus.dispatch('boss', ['mine', '--to', 'w']);
    expect((await gitbus(['claim', mine, '--json'], { home: w, env: { GITBUS_ACTOR: 'ada' } })).code).toBe(0);
    const second = await bus.dispatch('boss', ['by hand again', '--to', 'w']);
    expect((await gitbus(['claim', second, '--json'], { home: w, env: { GITBUS_ACTOR: 'watcher' } })).code).toBe(0);
    await until('the second orphan to be released', () => watcher.events().some((e) => e.type === 'released' && e['id'] === second), 30_000, () => watcher.stderr());
    const after = json<{ tasks: { id: string; state: string }[] }>(await gitbus(['status', '--json'], { home: bus.home('boss') }));
    expect(after.tasks.find((t) => t.id === mine)?.state).toBe('claimed');
  }, 60_000);
});

describe('a push whose answer is lost', () => {
  // PROTOCOL.md §5 step 5: if the remote accepted it, the change happened. Every push of this node lands on the
  // server, which then cuts the connection instead of answering: the watcher must find its claim on the remote and
  // run the task, not give it back as never run (three such hand-backs used to fail the task unrun).
  it('is a claim that landed: the watcher runs the task once', async () => {
    const http = await makeBus({ node: 'boss' });
    cleanups.push(http.cleanup);
    const home = await http.addNode('lossy', [], ['--runner', 'shell']);
    let dropping = false;
    const server = await startGitHttpServer({ projectRoot: http.dir, dropAnswer: (path) => dropping && path.endsWith('/git-receive-pack') });
    cleanups.push(() => server.close());
    await pointAt(home, `${server.url}/remote.git`);
    const watcher = startWatcher(home, ['--poll', '1s', '--no-serve', '--retry', '1s', '--retry-max', '2s'], children);
    await until('the watcher to start', () => watcher.events().some((e) => e.type === 'started'), 20_000, () => watcher.stderr());
    dropping = true;
    const ran = join(http.dir, 'ran.txt');
    const id = await http.dispatch('boss', ['runs once', '--to', 'lossy', '--command', `echo "$GITBUS_ATTEMPT" >> '${ran}'`]);
    const responses = mainListing(http.remote, 'responses');
    await until('the task to be answered', () => responses().includes(`responses/${id}.md`), 45_000, () => `${JSON.stringify(watcher.events())}\n${watcher.stderr()}`);
    expect(existsSync(ran), watcher.stderr()).toBe(true);
    expect(readFileSync(ran, 'utf8')).toBe('1\n');
    const s = json<{ tasks: { id: string; state: string }[] }>(await gitbus(['status', '--json'], { home: http.home('boss') }));
    expect(s.tasks.find((t) => t.id === id)?.state).toBe('succeeded');
    expect(watcher.events().filter((e) => e.type === 'released')).toEqual([]);
  }, 90_000);
});
