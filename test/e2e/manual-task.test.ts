import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBus } from '../helpers/bus.js';
import { gitbus, json } from '../helpers/cli.js';

/**
 * A task dispatched with neither --runner nor --command is a manual one: no watcher runs it, a person or an agent
 * claims it by hand. A user who meant a node's watcher to run it (`dispatch "Review the parser" --to box1`, as the
 * README's mapping of seed 000's tw-handoff reads) saw it sit pending with nothing said. Now dispatch says who takes
 * it and how, warns when the node it is addressed to has a watcher that runs other runners (naming the flag that
 * would have it run there), and status says under the task why it waits.
 */
type Bus = Awaited<ReturnType<typeof makeBus>>;
let bus: Bus;

beforeAll(async () => {
  bus = await makeBus({ node: 'laptop' });
  await bus.addNode('box1', [], ['--runner', 'shell']);
}, 60_000);
afterAll(async () => bus?.cleanup());

type Status = { tasks: { id: string; state: string; noTaker?: string }[] };

describe('a manual task nobody asked for', () => {
  it('addressed to a node whose watcher runs tasks: dispatch warns with the flag that would have it run there, and status says under it what it waits for', async () => {
    const d = await gitbus(['dispatch', 'Review the parser', '--to', 'box1', '--no-git'], { home: bus.home('laptop') });
    expect(d.code, d.stderr).toBe(0);
    const id = d.stdout.trim();
    expect(d.stderr).toContain("gitbus: warning: node box1's watcher runs shell tasks, and this is a manual task (neither --runner nor --command was given)");
    expect(d.stderr).toContain('dispatch it with --command "CMD" (a shell line)');
    // The warning says it all: no second note of the same.
    expect(d.stderr).not.toContain(`${id} is a manual task`);

    const text = await gitbus(['status'], { home: bus.home('laptop') });
    expect(text.stdout).toContain('      waits: a manual task, which no watcher runs: it waits for a person or an agent to claim it ("gitbus claim <id>" on node box1');
    expect(text.stdout).toContain("node box1's watcher runs shell tasks, not manual ones: dispatch it again with --command");
    const st = json<Status>(await gitbus(['status', '--json'], { home: bus.home('laptop') }));
    expect(st.tasks.find((t) => t.id === id)).toMatchObject({ state: 'pending', noTaker: expect.stringContaining('a manual task, which no watcher runs') });
  });

  it('for anyone: dispatch says it is manual, who takes it and how (--json: `manual`), and status says it waits for a person or an agent', async () => {
    const d = await gitbus(['dispatch', 'Look at the logs', '--no-git'], { home: bus.home('laptop') });
    expect(d.code, d.stderr).toBe(0);
    const id = d.stdout.trim();
    expect(d.stderr).not.toContain('warning');
    expect(d.stderr).toContain(`gitbus: ${id} is a manual task (no --runner or --command): no watcher runs it; a person or an agent takes it with "gitbus claim ${id}"`);
    expect(d.stderr).toContain(`answers it with "gitbus respond ${id}"`);
    expect(d.stderr).toContain('--runner claude');

    const j = await gitbus(['dispatch', 'Look at the disks', '--no-git', '--json'], { home: bus.home('laptop') });
    expect(json<{ manual?: string }>(j).manual).toContain('is a manual task');
    const st = json<Status>(await gitbus(['status', '--json'], { home: bus.home('laptop') }));
    expect(st.tasks.find((t) => t.id === id)?.noTaker).toMatch(/^a manual task, which no watcher runs: it waits for a person or an agent to claim it \("gitbus claim <id>", or claim_next/);
  });

  it('asked for (--runner manual, or a command run by a watcher): no note, no warning', async () => {
    const d = await gitbus(['dispatch', 'Sign the release', '--to', 'box1', '--runner', 'manual', '--no-git', '--json'], { home: bus.home('laptop') });
    expect(d.code, d.stderr).toBe(0);
    const r = json<{ manual?: string; warnings: string[] }>(d);
    expect(r.manual).toBeUndefined();
    expect(r.warnings).toEqual([]);
    const c = await gitbus(['dispatch', 'Count the files', '--to', 'box1', '--command', 'ls | wc -l', '--no-git'], { home: bus.home('laptop') });
    expect(c.code, c.stderr).toBe(0);
    expect(c.stderr).not.toContain('manual');
    const st = json<Status>(await gitbus(['status', '--json'], { home: bus.home('laptop') }));
    expect(st.tasks.find((t) => t.id === c.stdout.trim())?.noTaker).toBeUndefined();
  });
});
