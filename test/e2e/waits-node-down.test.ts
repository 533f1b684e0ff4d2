import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBus } from '../helpers/bus.js';
import { gitbus, json } from '../helpers/cli.js';
import { writeHeartbeat } from '../helpers/refs.js';

/**
 * A task only stopped or silent nodes may take waits for them, which their cards cannot say (seed 001's GPU box is
 * often offline). Dispatch warns (it does not refuse: queueing for a machine that is away is what the bus is for),
 * status says under the task which node is down and since when (`takersDown` in --json, also where `status --json`
 * writes a digest's lines as they are), and a wait that times out says it too.
 */
type Bus = Awaited<ReturnType<typeof makeBus>>;
type Task = { id: string; state: string; noTaker?: string; takersDown?: string };
const buses: Bus[] = [];
afterAll(async () => {
  for (const b of buses) await b.cleanup();
});

/** A bus whose gpu node's watcher ran and stopped cleanly, whose old node last beat an hour ago, and pi never beat. */
async function fleet(): Promise<Bus> {
  const bus = await makeBus({ node: 'laptop' });
  buses.push(bus);
  await bus.addNode('gpu', ['gpu'], ['--runner', 'shell']);
  await bus.addNode('old', [], ['--runner', 'shell']);
  await bus.addNode('pi', [], ['--runner', 'shell']);
  const w = await gitbus(['watch', '--once'], { home: bus.home('gpu') });
  expect(w.code, w.stderr).toBe(0);
  writeHeartbeat(bus.remote, 'old', 3_600_000);
  return bus;
}

describe('a task whose nodes are down', () => {
  let bus: Bus;
  beforeAll(async () => {
    bus = await fleet();
  }, 60_000);

  it('dispatch --to a stopped node warns and queues it; status says "node gpu is stopped (since ...)" under it; the wait that times out says so', async () => {
    const d = await gitbus(['dispatch', 'validate', '--to', 'gpu', '--command', 'true', '--no-git'], { home: bus.home('laptop') });
    expect(d.code, d.stderr).toBe(0);
    const id = d.stdout.trim();
    expect(d.stderr).toMatch(/gitbus: warning: node gpu is stopped \(since \d{4}-\d\d-\d\dT[\d:]+Z, \d+s ago\): its watcher shut down cleanly; the task waits until its watcher runs again \("gitbus watch", or "gitbus service install", on gpu\)/);

    const text = await gitbus(['status'], { home: bus.home('laptop') });
    expect(text.stdout).toMatch(new RegExp(`${id} .*\\n {6}waits: node gpu is stopped \\(since `));
    const st = json<{ tasks: Task[] }>(await gitbus(['status', '--json'], { home: bus.home('laptop') }));
    expect(st.tasks.find((t) => t.id === id)).toMatchObject({ state: 'pending', takersDown: expect.stringContaining('node gpu is stopped (since ') });

    const w = await gitbus(['dispatch', 'validate again', '--to', 'gpu', '--command', 'true', '--no-git', '--wait', '--wait-timeout', '2s'], { home: bus.home('laptop') });
    expect(w.code, w.stderr).toBe(11);
    expect(w.stderr).toMatch(/gitbus: stopped waiting after 2s: (\S+) is pending, and goes on; .*\ngitbus: \1 waits: node gpu is stopped \(since /);
    const wj = await gitbus(['run', 'gpu', '--wait-timeout', '1s', '--json', '--', 'true'], { home: bus.home('laptop') });
    expect(wj.code, wj.stderr).toBe(11);
    expect(json<{ waits?: string }>(wj).waits).toContain('node gpu is stopped');
  }, 60_000);

  it('one silent past the lease, one that never ran a watcher, and the only node with the labels a task needs: each said as such', async () => {
    const silent = await gitbus(['dispatch', 'on old', '--to', 'old', '--command', 'true', '--no-git', '--json'], { home: bus.home('laptop') });
    expect(json<{ warnings: string[] }>(silent).warnings).toEqual([expect.stringMatching(/^node old is silent \(last heartbeat .*, 1h ago\): its heartbeat is older than the lease/)]);
    const never = await gitbus(['dispatch', 'on pi', '--to', 'pi', '--command', 'true', '--no-git', '--json'], { home: bus.home('laptop') });
    expect(json<{ warnings: string[] }>(never).warnings).toEqual(['node pi has no watcher running (it never beat); the task waits until a watcher runs there ("gitbus watch", or "gitbus service install", on pi)']);
    const labelled = await gitbus(['dispatch', 'gpu suite', '--label', 'gpu', '--command', 'true', '--no-git', '--json'], { home: bus.home('laptop') });
    const id = json<{ id: string; warnings: string[] }>(labelled).id;
    expect(json<{ warnings: string[] }>(labelled).warnings).toEqual([expect.stringMatching(/^the only node that can take it, node gpu is stopped \(since /)]);
    // A plain shell task: gpu, old and pi may all take it, and all three are down.
    const plain = await gitbus(['dispatch', 'anywhere', '--command', 'true', '--no-git', '--json'], { home: bus.home('laptop') });
    expect(json<{ warnings: string[] }>(plain).warnings).toEqual([expect.stringMatching(/^every node that can take it is down: node gpu is stopped .*; node old is silent .*; node pi has no watcher running \(it never beat\); the task waits until one of them runs a watcher again$/)]);
    const st = json<{ tasks: Task[] }>(await gitbus(['status', '--json'], { home: bus.home('laptop') }));
    expect(st.tasks.find((t) => t.id === id)?.takersDown).toMatch(/^the only node that can take it, node gpu is stopped/);
  }, 60_000);

  it('a node that runs takes the warning away: no warning for a task a live node may take', async () => {
    writeHeartbeat(bus.remote, 'pi', 0);
    const d = await gitbus(['dispatch', 'anywhere again', '--command', 'true', '--no-git', '--json'], { home: bus.home('laptop') });
    expect(json<{ warnings: string[] }>(d).warnings).toEqual([]);
    const st = json<{ tasks: Task[] }>(await gitbus(['status', '--json'], { home: bus.home('laptop') }));
    expect(st.tasks.find((t) => t.id === json<{ id: string }>(d).id)?.takersDown).toBeUndefined();
  }, 60_000);
});

describe('status --json from a digest', () => {
  it("fills in takersDown where it writes the digest's lines as they are, as it does without one", async () => {
    const bus = await fleet();
    // A live node that takes plain shell tasks, not those needing the gpu label.
    await bus.addNode('cpu', [], ['--runner', 'shell']);
    writeHeartbeat(bus.remote, 'cpu', 0);
    // Enough tasks for a digest (bus/ops/status-digest.ts DIGEST_MIN_TASKS): some for gpu by address or label only.
    const lines = Array.from({ length: 60 }, (_, i) => JSON.stringify(i % 3 === 0 ? { title: `to gpu ${i}`, to: 'gpu', command: 'true' } : i % 3 === 1 ? { title: `gpu label ${i}`, labels: ['gpu'], command: 'true' } : { title: `plain ${i}`, command: 'true' }));
    const file = join(bus.dir, 'tasks.jsonl');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const d = await gitbus(['dispatch', '--from', file, '--no-git', '--json'], { home: bus.home('laptop') });
    expect(d.code, d.stderr).toBe(0);
    // The first works it out and writes the digest; the second writes the digest's lines.
    const first = await gitbus(['status', '--json'], { home: bus.home('laptop') });
    const second = await gitbus(['status', '--json'], { home: bus.home('laptop') });
    // The same but for how long ago a node stopped, which a second may change.
    const tasks = (r: typeof first) => json<{ tasks: (Task & { title: string })[] }>(r).tasks.map((t) => (t.takersDown ? { ...t, takersDown: t.takersDown.replace(/\d+[smhd] ago/g, 'N ago') } : t));
    expect(tasks(second)).toEqual(tasks(first));
    const down = tasks(second).filter((t) => t.takersDown !== undefined);
    expect(down.map((t) => t.title).sort()).toEqual(tasks(second).filter((t) => !t.title.startsWith('plain')).map((t) => t.title).sort());
    expect(down.find((t) => t.title === 'to gpu 0')?.takersDown).toMatch(/^node gpu is stopped \(since /);
  }, 90_000);
});
