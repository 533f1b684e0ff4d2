import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { gitbus, gitCli, json } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { pushFiles } from '../helpers/push-access.js';

/**
 * A watcher with free slots claims as many tasks as it has slots in one commit (issue 14, batching): one push
 * instead of one per task, decided from one snapshot, so compare-and-swap is unchanged.
 */
let bus: Awaited<ReturnType<typeof makeBus>>;
let w: string;
const ids = ['batch-a', 'batch-b', 'batch-c', 'batch-d', 'batch-e'];

beforeAll(async () => {
  bus = await makeBus({ node: 'boss' });
  w = await bus.addNode('w', [], ['--runner', 'shell', '--parallel', '4']);
  const person = join(bus.dir, 'person');
  gitCli(['clone', '-q', bus.remote, person]);
  pushFiles(person, Object.fromEntries(ids.map((id, i) => [`handoffs/${id}.md`, `---\ntitle: batch ${i}\nto: w\ncommand: "true"\npriority: ${9 - i}\n---\n`])), 'five tasks');
}, 30_000);

afterAll(async () => {
  await bus?.cleanup();
});

describe('a watcher with free slots', () => {
  it('claims up to its free slots in one commit, in queue order, and runs them all', async () => {
    const r = await gitbus(['watch', '--once', '--json'], { home: w, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    const claims = gitCli(['log', '--format=%s', 'main'], bus.remote).split('\n').filter((s) => s.startsWith('gitbus: claim'));
    // Four slots: the four highest priorities in one commit, the fifth in a commit of its own when a slot freed.
    expect(claims).toHaveLength(2);
    expect(claims).toContain('gitbus: claim 4 tasks by w');
    const batch = gitCli(['log', '--format=%H', '--grep', '^gitbus: claim 4 tasks', 'main'], bus.remote).trim();
    const files = gitCli(['show', '--name-only', '--format=', batch], bus.remote).split('\n').filter(Boolean).sort();
    expect(files).toEqual(ids.slice(0, 4).map((id) => `claims/${id}.1.md`));
    const s = json<{ tasks: { id: string; state: string }[] }>(await gitbus(['status', '--json'], { home: bus.home('boss') }));
    for (const id of ids) expect(s.tasks.find((t) => t.id === id)?.state, id).toBe('succeeded');
  });
});
