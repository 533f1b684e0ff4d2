import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeBus } from '../helpers/bus.js';
import { gitCli, gitbus, json } from '../helpers/cli.js';
import { makeProject } from '../helpers/project.js';
import { putPendingPush } from '../../watcher/workspace/pending-pushes.js';
import { writeRecord } from '../../watcher/workspace/registry.js';

/**
 * `gitbus worktrees` and `worktrees prune` of a worktree whose branch the project remote took after its response
 * went out (`<home>/pushes/` keeps the entry, `landed`, until the bus has the delivery: docs/PROTOCOL.md §3a): the
 * work is on the remote, so it is shown as pushed with the bus not told yet, and keeps nothing; an entry that did
 * not land still keeps the worktree.
 */
describe('a worktree whose push landed, the bus not told yet', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  afterAll(async () => bus?.cleanup());

  it('is not a pending push: shown as pushed, and prune is not held by it', async () => {
    bus = await makeBus({ node: 'alpha' });
    const home = bus.home('alpha');
    const project = makeProject(bus.dir);
    const gitDir = join(home, 'projects', 'proj.git');
    gitCli(['clone', '-q', '--bare', project.remote, gitDir]);
    gitCli(['--git-dir', gitDir, 'fetch', '-q', 'origin', '+refs/heads/*:refs/remotes/origin/*']);
    const head = project.main();
    const key = '20261204-190000-landed';
    const at = '2026-12-04T19:00:00.000Z';
    writeRecord(home, { key, path: join(home, 'worktrees', key), repo: project.remote, url: project.remote, gitDir, branch: 'main', baseCommit: head, tasks: [], created: at, updated: at });
    const push = { gitDir, url: project.remote, commit: head, branch: 'main', worktree: key };
    putPendingPush(home, { id: key, attempt: 1, push, landed: { branch: 'main', headCommit: head, at } });

    const listed = await gitbus(['worktrees', '--json'], { home });
    expect(listed.code, listed.stderr).toBe(0);
    const row = json<{ worktrees: { key: string; pendingPush: boolean; landedPush: boolean; prunable: boolean; blockers: { reason: string }[] }[] }>(listed).worktrees.find((w) => w.key === key);
    expect(row).toMatchObject({ pendingPush: false, landedPush: true, prunable: true, blockers: [] });
    expect((await gitbus(['worktrees'], { home })).stdout).toContain('pushed; the bus is not told yet');

    // The same worktree with a push that has not landed: kept, named or not.
    putPendingPush(home, { id: key, attempt: 1, push });
    const waiting = json<{ worktrees: { key: string; pendingPush: boolean; landedPush: boolean; blockers: { reason: string }[] }[] }>(await gitbus(['worktrees', '--json'], { home })).worktrees.find((w) => w.key === key);
    expect(waiting).toMatchObject({ pendingPush: true, landedPush: false });
    expect(waiting?.blockers.map((b) => b.reason)).toEqual([expect.stringContaining('waits to be pushed')]);

    putPendingPush(home, { id: key, attempt: 1, push, landed: { branch: 'main', headCommit: head, at } });
    const pruned = await gitbus(['worktrees', 'prune', '--json'], { home });
    expect(pruned.code, pruned.stderr).toBe(0);
    expect(json<{ removed: { key: string }[] }>(pruned).removed.map((r) => r.key)).toEqual([key]);
  }, 120_000);
});
