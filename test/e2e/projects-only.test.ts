import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gitbus, json, neutralCwd } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { branchFiles, editNode, makeProject } from '../helpers/project.js';
import { startWatcher, type WatcherProcess } from '../helpers/watcher-process.js';
import { until } from '../helpers/wait.js';
import { taskEnd } from '../helpers/task-end.js';
import { statusInProcess } from '../helpers/in-process.js';

/**
 * node.yaml `projectsOnly: true` is judged before the claim, as the node's policy is (README "Node policy"): node
 * `only` lists the project app and runs a watcher (its own process); node `free` takes anything. A project task for
 * another repository is left on the bus for `free` (not claimed and failed by `only`), status and claim on `only`
 * say why, its card publishes the projects so that dispatch --to refuses early, and a task forced to it is answered
 * failed with the reason, nothing fetched. Real bare project remotes in a temp folder.
 */

let bus: Awaited<ReturnType<typeof makeBus>>;
let only: string;
let free: string;
let app: ReturnType<typeof makeProject>;
let other: ReturnType<typeof makeProject>;
let watcher: WatcherProcess;
const children: ChildProcess[] = [];

type Response = { status: string; reason?: string; node: string };

async function dispatch(args: string[]): Promise<string> {
  const d = await gitbus(['dispatch', ...args, '--json'], { home: bus.home('boss'), cwd: neutralCwd() });
  expect(d.code, d.stderr + d.stdout).toBe(0);
  return json<{ id: string }>(d).id;
}

/** The task's response once it has ended (polled, bounded). */
const ended = (id: string) => taskEnd<Response>(bus.home('boss'), id, watcher);

beforeAll(async () => {
  bus = await makeBus({ node: 'boss' });
  only = await bus.addNode('only', [], ['--runner', 'shell']);
  free = await bus.addNode('free', [], ['--runner', 'shell']);
  app = makeProject(bus.dir, 'app');
  other = makeProject(bus.dir, 'other');
  editNode(only, (c) => ({ ...c, projects: { app: { url: app.remote } }, projectsOnly: true }));
  watcher = startWatcher(only, ['--poll', '1s'], children);
  // Its card (with its projects) goes out when the watcher starts.
  await until('only to publish its card', () => watcher.events().some((e) => e.type === 'started'), 30_000, () => watcher.stderr());
}, 90_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await bus?.cleanup();
});

describe('projectsOnly', () => {
  it('publishes the projects on the node card, so that dispatch --to refuses a task for another repository early', async () => {
    type Status = { nodes: { node: string; card?: { projectsOnly?: string[]; policy?: unknown } }[] };
    let card: Status['nodes'][number]['card'];
    await until("only's card to carry its projects", async () => {
      card = (await statusInProcess<Status>(bus.home('boss'))).nodes.find((n) => n.node === 'only')?.card;
      return card?.projectsOnly !== undefined;
    }, 20_000);
    expect(card?.projectsOnly).toEqual(['app', app.remote]);
    expect(card).not.toHaveProperty('policy');

    const r = await gitbus(['dispatch', 'work elsewhere', '--to', 'only', '--repo', other.remote, '--command', 'echo hi', '--json'], { home: bus.home('boss'), cwd: neutralCwd() });
    expect(r.code, r.stderr).toBe(5);
    const err = json<{ error: { code: string; message: string; fix: string } }>(r).error;
    expect(err.code).toBe('NODE_CANNOT_RUN');
    expect(err.message).toContain(`projectsOnly: node only takes project tasks only for the projects its node.yaml lists (app), and the task's repo is "${other.remote}"`);
    expect(err.fix).toContain(`add it under "projects" in only's node.yaml`);
  });

  it('runs a task for a project it lists, given by URL', async () => {
    const id = await dispatch(['work on app', '--to', 'only', '--repo', app.remote, '--command', 'echo done > done.txt']);
    const { state, response } = await ended(id);
    expect(state, response.reason).toBe('succeeded');
    expect(response.node).toBe('only');
    expect(branchFiles(app.remote, `gitbus/${id}`)).toContain('done.txt');
  });

  it('leaves a task for anyone on another repository to another node, saying why in its events, claim and status', async () => {
    const id = await dispatch(['work on other', '--repo', other.remote, '--command', 'echo done > done.txt']);
    await until('only to report that it leaves the task', () => watcher.events().some((e) => e.type === 'refused' && e.id === id && e.answered === false), 20_000, () => JSON.stringify(watcher.events()));
    expect(watcher.events().find((e) => e.type === 'refused' && e.id === id)).toMatchObject({ reason: expect.stringContaining(`projectsOnly: node only takes project tasks only for the projects its node.yaml lists (app)`) });

    const claimed = await gitbus(['claim', '--next', '--json'], { home: only });
    expect(claimed.code).toBe(3);
    const err = json<{ error: { code: string; data: { refused: { id: string; reason: string }[] } } }>(claimed).error;
    expect(err.code).toBe('NOTHING_CLAIMABLE');
    expect(err.data.refused).toEqual([expect.objectContaining({ id, reason: expect.stringContaining('projectsOnly') })]);
    const status = json<{ tasks: { id: string; state: string; refusedHere?: string }[] }>(await gitbus(['status', '--json'], { home: only }));
    expect(status.tasks.find((t) => t.id === id)).toMatchObject({ state: 'pending', refusedHere: expect.stringContaining('projectsOnly') });
    expect((await gitbus(['status'], { home: only })).stdout).toContain("refused by this node's policy: projectsOnly");

    const ran = await gitbus(['watch', '--once', '--json'], { home: free });
    expect(ran.code, ran.stderr).toBe(0);
    expect(json<{ ran: { id: string; status: string }[] }>(ran).ran).toEqual([expect.objectContaining({ id, status: 'succeeded' })]);
    expect(branchFiles(other.remote, `gitbus/${id}`)).toContain('done.txt');
  });

  it('answers a task for another repository forced to it with failed and the reason, fetching nothing', async () => {
    const id = await dispatch(['forced elsewhere', '--to', 'only', '--repo', other.remote, '--command', 'echo done > done.txt', '--force']);
    const { state, response } = await ended(id);
    expect(state).toBe('failed');
    expect(response.node).toBe('only');
    expect(response.reason).toContain(`refused by node only's policy, nothing was run: projectsOnly: node only takes project tasks only for the projects its node.yaml lists (app), and the task's repo is "${other.remote}"`);
    expect(watcher.events()).toContainEqual(expect.objectContaining({ type: 'refused', id, answered: true }));
    // Refused before the worktree: no clone of the other project on the node, no branch on its remote.
    const cached = existsSync(join(only, 'projects')) ? readdirSync(join(only, 'projects')) : [];
    expect(cached.filter((f) => f.startsWith('other'))).toEqual([]);
    expect(branchFiles(other.remote, `gitbus/${id}`)).toBeNull();
  });
});
