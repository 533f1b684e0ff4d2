import { type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBus } from '../helpers/bus.js';
import { gitbus } from '../helpers/cli.js';
import { showInProcess } from '../helpers/in-process.js';
import { branchFiles, editNode, makeProject, pushHandoffs, showFile } from '../helpers/project.js';
import { startWatcher, type WatcherProcess } from '../helpers/watcher-process.js';
import { bounded, until } from '../helpers/wait.js';

/**
 * A project run stopped before it ends, by a person's cancel or by its watcher's shutdown (docs/PROTOCOL.md §3a
 * step 5): with no commit over its base, its branch would hold nothing, so it is not pushed, as for a failed run;
 * with work committed, it is. Real git: a bus and a project on bare remotes, a watcher process running a shell task.
 */
type Report = { branch: string; baseCommit: string; headCommit: string; pushed: boolean; pushError?: string };
type Shown = { state: string; files: { path: string; text: string }[] };

let bus: Awaited<ReturnType<typeof makeBus>>;
let project: ReturnType<typeof makeProject>;
let person: string;
let home: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  bus = await makeBus();
  project = makeProject(bus.dir);
  person = join(bus.dir, 'person');
  home = await bus.addNode('w1', [], ['--runner', 'shell', '--parallel', '2']);
  editNode(home, (c) => ({ ...c, projects: { proj: { url: project.remote, checkout: project.checkout } } }));
}, 60_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await bus?.cleanup();
});

async function report(id: string): Promise<Report | undefined> {
  const file = (await showInProcess<Shown>(bus.home('alpha'), id)).files.find((f) => f.path.startsWith('responses/'));
  return file ? ((parse(file.text.split('---\n')[1] ?? '') as { project?: Report }).project) : undefined;
}

/** A shell task for w1 that leaves `flag` once it runs, after `before`, then waits to be stopped. */
function dispatchWaiting(id: string, before = 'true'): string {
  const flag = join(bus.dir, `${id}.running`);
  pushHandoffs(person, bus.remote, [{ id, frontmatter: { to: 'w1', repo: 'proj', base: 'main', runner: 'shell', command: `${before} && touch ${flag} && sleep 120` } }]);
  return flag;
}

async function stopWatcher(w: WatcherProcess): Promise<void> {
  if (w.child.exitCode === null) w.child.kill('SIGTERM');
  await bounded(w.exited, 60_000, 'the watcher to exit');
}

describe('a project run stopped before it ends', () => {
  it('cancelled with no commit over its base pushes no branch and says nothing is coming; cancelled with work committed pushes it', async () => {
    const idle = dispatchWaiting('ps-idle');
    const busy = dispatchWaiting('ps-busy', 'echo half > half.txt');
    const w = startWatcher(home, ['--poll', '1s'], children);
    try {
      await until('both runs to start', () => existsSync(idle) && existsSync(busy), 30_000, w.stderr);
      for (const id of ['ps-idle', 'ps-busy']) expect((await gitbus(['cancel', id, '--reason', 'not needed'], { home: bus.home('alpha') })).code).toBe(0);
      await until('both responses', () => ['ps-idle', 'ps-busy'].every((id) => w.events().some((e) => e.type === 'delivered' && e.id === id)), 60_000, w.stderr);
    } finally {
      await stopWatcher(w);
    }
    expect(w.events().filter((e) => e.type === 'finished').map((e) => e.status)).toEqual(['cancelled', 'cancelled']);
    const nothing = await report('ps-idle');
    expect(nothing).toMatchObject({ branch: 'gitbus/ps-idle', pushed: false });
    expect(nothing?.pushError).toBeUndefined();
    expect(nothing?.headCommit).toBe(nothing?.baseCommit);
    expect(branchFiles(project.remote, 'gitbus/ps-idle')).toBeNull();
    expect((await gitbus(['show', 'ps-idle'], { home: bus.home('alpha') })).stdout).toContain('not pushed: the run made no commit over its base, so there was nothing to push');
    expect(await report('ps-busy')).toMatchObject({ branch: 'gitbus/ps-busy', pushed: true });
    expect(showFile(project.remote, 'gitbus/ps-busy', 'half.txt')).toBe('half\n');
  }, 150_000);

  it('stopped by its watcher\'s shutdown with no commit over its base: given back without a branch on the project remote', async () => {
    const flag = dispatchWaiting('ps-shutdown');
    const w = startWatcher(home, ['--poll', '1s', '--grace', '1s'], children);
    try {
      await until('the run to start', () => existsSync(flag), 30_000, w.stderr);
    } finally {
      await stopWatcher(w);
    }
    expect(w.events().find((e) => e.type === 'released' && e.id === 'ps-shutdown')).toMatchObject({ reason: 'shutdown' });
    expect(branchFiles(project.remote, 'gitbus/ps-shutdown')).toBeNull();
  }, 120_000);
});
