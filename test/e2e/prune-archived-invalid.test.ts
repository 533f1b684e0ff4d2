import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forgetRunning, recordRunning } from '../../watcher/running-record.js';
import { changeArchivedFile } from '../helpers/archive-branch.js';
import { makeBus } from '../helpers/bus.js';
import { gitbus, json } from '../helpers/cli.js';
import { editNode, makeProject, pushHandoffs } from '../helpers/project.js';
import { bounded } from '../helpers/wait.js';

type Blocker = { reason: string; fix: string; overridable: boolean };
type Pruned = { removed: { key: string }[]; kept: { key: string; named: boolean; blockers: Blocker[] }[] };

const KEY = 'pi-lost';

/**
 * A worktree whose task was archived and then became `invalid` there (its archived response rewritten into what does
 * not parse): how it ended is unknown, but nothing runs an archived task again, and the files of the archive are
 * seldom repaired. Unnamed, `worktrees prune` keeps it and says how to prune it; named, it goes, unless this node's
 * watcher still runs the task (a record in `<home>/running/` whose process group lives). Real git, the CLI, a
 * watcher run.
 */
describe('worktrees prune of an archived invalid task', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let home = '';
  const prune = async (args: string[]): Promise<{ code: number; out: Pruned }> => {
    const r = await gitbus(['worktrees', 'prune', ...args, '--json'], { home });
    return { code: r.code, out: json<Pruned>(r) };
  };

  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha', initArgs: ['--runner', 'shell'] });
    home = bus.home('alpha');
    const project = makeProject(bus.dir);
    editNode(home, (c) => ({ ...c, projects: { proj: { url: project.remote } } }));
    pushHandoffs(join(bus.dir, 'person'), bus.remote, [{ id: KEY, frontmatter: { to: 'alpha', repo: 'proj', command: 'echo x > x.txt' } }]);
    const w = await gitbus(['watch', '--once', '--json'], { home, timeoutMs: 90_000 });
    expect(w.code, w.stderr).toBe(0);
    expect(json<{ ran: { id: string; status: string }[] }>(w).ran).toEqual([expect.objectContaining({ id: KEY, status: 'succeeded' })]);
    const a = await gitbus(['archive', '--all', '--json'], { home });
    expect(a.code, a.stderr).toBe(0);
    changeArchivedFile(bus.remote, join(bus.dir, 'archive-edit'), KEY, 'response.md', (f) => writeFileSync(f, '---\ngarbage: [\n---\n'));
  }, 120_000);
  afterAll(async () => bus?.cleanup());

  it('unnamed, keeps it and says how to prune it; named, prunes it', async () => {
    const rows = json<{ worktrees: { key: string; prunable: boolean; tasks: { id: string; state: string; archived: boolean }[] }[] }>(await gitbus(['worktrees', '--json'], { home })).worktrees;
    expect(rows).toEqual([expect.objectContaining({ key: KEY, prunable: false, tasks: [{ id: KEY, state: 'invalid', archived: true }] })]);

    const unnamed = await prune([]);
    expect(unnamed.code).toBe(0);
    expect(unnamed.out.removed).toEqual([]);
    expect(unnamed.out.kept).toEqual([{ key: KEY, named: false, blockers: [{ reason: `task ${KEY} is archived, but how it ended is unknown (invalid; "gitbus show ${KEY}" says why)`, fix: `an archived task never runs again, and this node no longer runs it; to prune it anyway, name it: gitbus worktrees prune ${KEY}`, overridable: true }] }]);
    const text = await gitbus(['worktrees', 'prune'], { home });
    expect(text.stdout).toContain(`kept ${KEY}:\n  task ${KEY} is archived, but how it ended is unknown`);
    expect(text.stdout).toContain(`    fix: an archived task never runs again, and this node no longer runs it; to prune it anyway, name it: gitbus worktrees prune ${KEY}\n`);

    // While this node's watcher runs it (whatever the bus says of it), not even named. A run is a process group of
    // its own, as the runners start it.
    const run = spawn('sleep', ['60'], { detached: true, stdio: 'ignore' });
    const ended = new Promise<void>((r) => run.once('exit', () => r()));
    const pid = run.pid;
    if (pid === undefined) throw new Error('sleep did not start');
    recordRunning(home, { id: KEY, attempt: 1, pid });
    try {
      const running = await prune([KEY]);
      expect(running.code).toBe(5);
      expect(running.out.kept).toEqual([{ key: KEY, named: true, blockers: [expect.objectContaining({ reason: `task ${KEY} is invalid and archived on the bus, but this node runs it now`, overridable: false })] }]);
    } finally {
      process.kill(-pid, 'SIGKILL');
      await bounded(ended, 10_000, 'the stand-in run to end');
    }

    // Its record stays, as a watcher killed with SIGKILL and not started again leaves it: a run that is over keeps
    // nothing, or the worktree would stay for ever.
    let named: Awaited<ReturnType<typeof prune>>;
    try {
      named = await prune([KEY]);
    } finally {
      forgetRunning(home, KEY, 1);
    }
    expect(named.code).toBe(0);
    expect(named.out.removed).toEqual([expect.objectContaining({ key: KEY })]);
    expect(existsSync(join(home, 'worktrees', KEY))).toBe(false);
    expect(readFileSync(join(home, 'logs', 'worktrees.log'), 'utf8')).toContain(`named; head on the project remote, nothing uncommitted; tasks ${KEY} invalid archived`);
  }, 60_000);
});
