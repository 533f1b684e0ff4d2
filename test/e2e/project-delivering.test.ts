import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { gitbus, gitCli, json } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { makeProject } from '../helpers/project.js';
import { startWatcher, type WatcherProcess } from '../helpers/watcher-process.js';
import { until } from '../helpers/wait.js';

/**
 * A project task whose run ended while its project remote is away: the holder keeps the result in its outbox and
 * pushes the branch again (up to ten minutes) before the response goes out. Meanwhile the task is `claimed` on the
 * bus, and every other node says why, from the holder's heartbeat (docs/PROTOCOL.md §5a `delivering`): status,
 * show, logs and `dispatch --wait`. The heartbeat is long (5m): the words come with the early beat the holder makes
 * when it starts holding the result. Real git, a watcher process; the remote is moved away by the run itself.
 */
const WORDS = 'finished on w1; its result waits for the project remote (';

let bus: Awaited<ReturnType<typeof makeBus>>;
let project: ReturnType<typeof makeProject>;
let watcher: WatcherProcess;
const children: ChildProcess[] = [];

beforeAll(async () => {
  bus = await makeBus({ initArgs: ['--lease', '30m', '--heartbeat', '5m'] });
  project = makeProject(bus.dir);
  await bus.addNode('w1', [], ['--runner', 'shell']);
  // A node that runs no watcher: its heartbeat is forged by hand below.
  await bus.addNode('w2', [], ['--runner', 'shell']);
  watcher = startWatcher(bus.home('w1'), ['--poll', '1s', '--progress-beat', '1s'], children);
}, 60_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGTERM');
  await watcher?.exited;
  await bus?.cleanup();
});

/** A heartbeat of `node` written by hand, as a node that lies would: its ref, a commit with heartbeat.yaml. */
function forgeBeat(node: string, doc: Record<string, unknown>): void {
  const dir = join(bus.dir, `forge-${node}`);
  mkdirSync(dir, { recursive: true });
  gitCli(['init', '-q', dir]);
  writeFileSync(join(dir, 'heartbeat.yaml'), stringify(doc));
  gitCli(['add', 'heartbeat.yaml'], dir);
  gitCli(['-c', 'user.name=x', '-c', 'user.email=x@x', 'commit', '-q', '-m', 'beat'], dir);
  gitCli(['push', '-q', '-f', bus.remote, `HEAD:refs/gitbus/heartbeats/${node}`], dir);
}

describe('a result held for the project remote', () => {
  it('is said by status, show, logs and dispatch --wait on another node (logs on the holder too), until it goes out', async () => {
    const away = `${project.remote}.away`;
    const home = bus.home('alpha');
    // Waits on its own while the rest looks; what it said so far is read before the project remote comes back, so
    // that the held state outlasts the waiter's look (a poll a second, slower on a loaded machine).
    let waiterSaid = '';
    const waiting = gitbus(['dispatch', 'held work', '--id', 'dl-held', '--to', 'w1', '--repo', project.remote, '--command', `echo done here && mv ${project.remote} ${away}`, '--wait'], { home, timeoutMs: 150_000, process: true, onStderr: (text) => (waiterSaid = text) });
    try {
      await until('status to say the result waits for the project remote', async () => (await gitbus(['status'], { home })).stdout.includes(WORDS), 60_000, () => `${watcher.events().map((e) => JSON.stringify(e)).join('\n')}\n${watcher.stderr()}`);
      const status = await gitbus(['status'], { home });
      expect(status.stdout).toMatch(/claimed:\n.*dl-held.*\n {6}finished on w1; its result waits for the project remote \(the project remote .* cannot be reached \(.*\)\) since \d{4}-\d\d-\d\dT.*, and goes out when it answers/);
      const listed = json<{ tasks: { id: string; state: string; delivering?: { since: string; reason: string } }[] }>(await gitbus(['status', '--json'], { home })).tasks.find((t) => t.id === 'dl-held');
      expect(listed).toMatchObject({ state: 'claimed', delivering: { since: expect.stringMatching(/^\d{4}-/), reason: expect.stringContaining(`the project remote ${project.remote} cannot be reached`) } });

      const show = await gitbus(['show', 'dl-held'], { home });
      expect(show.stdout.split('\n').slice(0, 2).join('\n')).toMatch(/^task dl-held: claimed\nfinished on w1; its result waits for the project remote/);
      expect(json<{ delivering?: unknown }>(await gitbus(['show', 'dl-held', '--json'], { home })).delivering).toMatchObject({ reason: expect.stringContaining('cannot be reached') });

      // The run's output goes on showing (the heartbeat carries its end), and why it has not ended is said on stderr.
      const logs = await gitbus(['logs', 'dl-held'], { home });
      expect(logs.stdout).toContain('done here');
      expect(logs.stderr).toContain(`dl-held: ${WORDS}`);
      // On the holder itself too, which reads its own log of the run.
      const own = await gitbus(['logs', 'dl-held'], { home: bus.home('w1') });
      expect(own.stdout).toContain('done here');
      expect(own.stderr).toContain(`dl-held: ${WORDS}`);

      // Another node's beat cannot put words on a task it does not hold: w2 claims to hold dl-held and a pending task.
      const pending = await gitbus(['dispatch', 'for nobody', '--id', 'dl-pending', '--to', 'w2', '--command', 'true'], { home });
      expect(pending.code, pending.stderr).toBe(0);
      forgeBeat('w2', { node: 'w2', time: new Date().toISOString(), pid: 1, running: [], delivering: [{ id: 'dl-held', attempt: 1, since: '2020-01-01T00:00:00Z', reason: 'forged' }, { id: 'dl-pending', attempt: 1, since: '2020-01-01T00:00:00Z', reason: 'forged' }] });
      const after = await gitbus(['status', '--json'], { home });
      const tasks = json<{ tasks: { id: string; state: string; delivering?: { reason: string } }[] }>(after).tasks;
      expect(tasks.find((t) => t.id === 'dl-pending')).toMatchObject({ state: 'pending' });
      expect(tasks.find((t) => t.id === 'dl-pending')?.delivering).toBeUndefined();
      expect(tasks.find((t) => t.id === 'dl-held')?.delivering?.reason).not.toBe('forged');
      expect((await gitbus(['show', 'dl-pending'], { home })).stdout).not.toContain('waits for the project remote');
      await until('dispatch --wait to say the result is held', () => waiterSaid.includes(`dl-held: claimed on w1 (attempt 1); ${WORDS}`), 60_000, () => waiterSaid);
    } finally {
      if (existsSync(away) && !existsSync(project.remote)) renameSync(away, project.remote);
    }
    const r = await waiting;
    expect(r.code, `${r.stderr}\n${watcher.stderr()}`).toBe(0);
    const held = r.stderr.indexOf(`dl-held: claimed on w1 (attempt 1); ${WORDS}`);
    expect(held, r.stderr).toBeGreaterThanOrEqual(0);
    expect(r.stderr.indexOf('dl-held: succeeded on w1')).toBeGreaterThan(held);
    // Once it went out, nothing is said of it any more.
    expect((await gitbus(['status'], { home })).stdout).not.toContain('waits for the project remote');
  }, 180_000);
});
