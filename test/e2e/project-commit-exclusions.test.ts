import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NodeConfig } from '../../bus/home.js';
import { handoffSchema } from '../../schemas/handoff.js';
import { finishWorktree } from '../../watcher/workspace/results.js';
import { prepareWorktree, type PreparedWorkspace } from '../../watcher/workspace/worktree.js';
import { worktreeGitFacts } from '../../watcher/workspace/inventory.js';
import { runStart } from '../../watcher/workspace/left-work.js';
import { setupMadeNow } from '../../watcher/workspace/commit-exclusions.js';
import { gitCli, gitbus, json, tempDir } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { showInProcess } from '../helpers/in-process.js';
import { branchFiles, editNode, makeProject, pushHandoffs } from '../helpers/project.js';

/**
 * What gitbus's commit of a run's leftovers leaves out (watcher/workspace/commit-exclusions.ts): git repositories the run
 * made inside its worktree, and what the project's setup command made. Real git, in-process for the worker's
 * steps, and a node's `watch --once` for the setup.
 */
let dir: Awaited<ReturnType<typeof tempDir>>;
let project: ReturnType<typeof makeProject>;
let home: string;
const config: NodeConfig = { node: 'lonode', remote: '/nonexistent-bus.git', labels: [], runners: ['shell'], parallel: 1 };

async function prepare(id: string): Promise<PreparedWorkspace> {
  const handoff = handoffSchema.parse({ id, title: `task ${id}`, repo: project.remote, base: 'main', baseCommit: project.main() });
  return prepareWorktree({ home, config, id, attempt: 1, handoff, slot: 0 });
}

/** Finishes as the watcher does, the run's start taken from the worktree as it is now (watcher/workspace/left-work.ts). */
const finish = async (ws: PreparedWorkspace, id: string) => finishWorktree({ ws, id, attempt: 1, node: config.node, title: `task ${id}`, status: 'succeeded', autoCommit: undefined, start: await runStart(ws.record.path) });
const committed = (cwd: string) => gitCli(['ls-tree', '-r', '--name-only', 'HEAD'], cwd).split('\n').filter(Boolean);

beforeAll(async () => {
  dir = await tempDir('gitbus-commit-exclusions-');
  project = makeProject(dir.path);
  home = join(dir.path, 'home');
});

afterAll(async () => {
  await dir?.cleanup();
});

describe('a run\'s leftovers gitbus does not commit', () => {
  it('git repositories the run made in its worktree, one with no commit yet among them, are left out and named; the rest is committed', async () => {
    const ws = await prepare('lo-nested');
    writeFileSync(join(ws.cwd, 'work.txt'), 'the run\'s work\n');
    // One with no commit makes `git add --all` fail as a whole; one cloned is stored as a bare link by it.
    gitCli(['init', '-q', join(ws.cwd, 'vendor', 'empty')]);
    gitCli(['clone', '-q', project.remote, join(ws.cwd, 'vendor', 'dep')]);
    // A name the run chose, with a line break and a no-break space: quoted on one line in the reason.
    const odd = 'odd\nIgnore\u00a0all';
    gitCli(['init', '-q', join(ws.cwd, odd)]);
    const f = await finish(ws, 'lo-nested');
    expect(committed(ws.cwd)).toEqual(expect.arrayContaining(['work.txt']));
    expect(committed(ws.cwd).filter((p) => p.startsWith('vendor') || p.startsWith('odd'))).toEqual([]);
    expect(f.report).toMatchObject({ commits: 1, files: 1 });
    expect(f.uncommitted).toBe(3);
    expect(f.uncommittedWhy).toContain('the run made git repositories of its own inside the worktree (');
    expect(f.uncommittedWhy).toContain('"vendor/dep"');
    expect(f.uncommittedWhy).toContain('"vendor/empty"');
    expect(f.uncommittedWhy).toContain('"odd Ignore\u00a0all"');
    expect(f.uncommittedWhy).not.toContain('\n');
    expect(f.uncommittedWhy).toContain(`their files are kept in ${ws.cwd}`);
    // Kept: the worktree counts them as uncommitted, so no prune removes them.
    expect((await worktreeGitFacts(ws.record)).uncommitted).toBe(3);
  });

  it('what the setup made is left out of the commit and not counted as uncommitted; the run\'s own files beside it are committed', async () => {
    const ws = await prepare('lo-setup');
    mkdirSync(join(ws.cwd, 'made'));
    writeFileSync(join(ws.cwd, 'made', 'cache.bin'), 'by the setup\n');
    writeFileSync(join(ws.cwd, 'marker'), 'by the setup\n');
    ws.record.setupMade = ['made/', 'marker'];
    writeFileSync(join(ws.cwd, 'work.txt'), 'the run\'s work\n');
    const f = await finish(ws, 'lo-setup');
    expect(committed(ws.cwd)).toContain('work.txt');
    expect(committed(ws.cwd).filter((p) => p.startsWith('made') || p === 'marker')).toEqual([]);
    expect(f.uncommitted).toBe(0);
    expect((await worktreeGitFacts(ws.record)).uncommitted).toBe(0);
  });

  it('a repository the setup cloned is the setup\'s: left out, and not said to be the run\'s', async () => {
    const ws = await prepare('lo-setup-clone');
    gitCli(['clone', '-q', project.remote, join(ws.cwd, 'dep')]);
    ws.record.setupMade = ['dep/'];
    writeFileSync(join(ws.cwd, 'work.txt'), 'the run\'s work\n');
    const f = await finish(ws, 'lo-setup-clone');
    expect(committed(ws.cwd).filter((p) => p.startsWith('dep'))).toEqual([]);
    expect(committed(ws.cwd)).toContain('work.txt');
    expect(f.uncommitted).toBe(0);
    expect(f.uncommittedWhy).toBeUndefined();
  });

  it('a setup run again after it failed keeps what its failed run made as its own, so a retry never commits it', () => {
    // First run: failed after making partial/. Second run: partial/ was there before it, and it made cache/.
    const first = setupMadeNow([], ['partial/', 'copied.env'], [], ['copied.env']);
    expect(first).toEqual({ setupMade: ['partial/'], fresh: 1 });
    const second = setupMadeNow(first.setupMade, ['partial/', 'cache/', 'left-by-a-run.txt'], ['partial/', 'left-by-a-run.txt'], []);
    expect(second).toEqual({ setupMade: ['partial/', 'cache/'], fresh: 1 });
  });

  it('a node whose setup makes files .gitignore does not name pushes the task\'s work without them, also when the setup fails, and may prune the worktree', async () => {
    const bus = await makeBus();
    try {
      const person = join(bus.dir, 'person');
      const node = await bus.addNode('setupnode', [], ['--runner', 'shell']);
      const setup = 'mkdir -p made && echo x > made/cache.bin && echo y > marker && if [ -e fail-setup ]; then echo half > half-made; exit 3; fi';
      editNode(node, (c) => ({ ...c, projects: { proj: { url: project.remote, setup } } }));
      pushHandoffs(person, bus.remote, [{ id: 'lo-run', frontmatter: { to: 'setupnode', repo: 'proj', base: 'main', command: 'echo work > work.txt' } }]);
      const r = await gitbus(['watch', '--once', '--json'], { home: node, timeoutMs: 90_000 });
      expect(r.code, r.stderr).toBe(0);
      expect(json<{ ran: { id: string; status: string }[] }>(r).ran).toEqual([expect.objectContaining({ id: 'lo-run', status: 'succeeded' })]);
      expect(branchFiles(project.remote, 'gitbus/lo-run')?.sort()).toEqual(['.gitignore', 'README.md', 'app.txt', 'work.txt']);
      const log = await gitbus(['logs', 'lo-run'], { home: node });
      expect(log.stdout + log.stderr).toContain('the setup made 2 untracked path(s) that .gitignore does not name');
      const w = await gitbus(['worktrees', '--json'], { home: node });
      expect(w.code, w.stderr).toBe(0);
      expect(JSON.stringify(json(w))).toContain('"uncommitted":0');

      // A setup that fails part-way: what it made is not delivered as the task's work either.
      pushHandoffs(person, bus.remote, [{ id: 'lo-fail', frontmatter: { to: 'setupnode', repo: 'proj', base: 'main', command: 'true' } }]);
      editNode(node, (c) => ({ ...c, projects: { proj: { url: project.remote, setup: `touch fail-setup && ${setup}` } } }));
      const f = await gitbus(['watch', '--once', '--json'], { home: node, timeoutMs: 90_000 });
      expect(f.code, f.stderr).toBe(0);
      expect(json<{ ran: { id: string; status: string }[] }>(f).ran).toEqual([expect.objectContaining({ id: 'lo-fail', status: 'failed' })]);
      expect(branchFiles(project.remote, 'gitbus/lo-fail')).toBeNull();
      const shown = await showInProcess<{ files: { path: string; text: string }[] }>(node, 'lo-fail');
      expect(shown.files.find((x) => x.path.startsWith('responses/'))?.text).toContain('the project\'s setup command');
      expect(gitCli(['rev-parse', 'HEAD'], join(node, 'worktrees', 'lo-fail')).trim()).toBe(project.main());
    } finally {
      await bus.cleanup();
    }
  }, 120_000);
});
