import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitbus, gitCli, json, ROOT } from '../helpers/cli.js';
import { pathToFileURL } from 'node:url';
import { makeBus } from '../helpers/bus.js';

/**
 * The dispatching side off the network (a laptop off the VPN): changes are queued in the home and delivered at
 * the next contact; reading commands show the last known state with a warning instead of failing.
 */
describe('offline on the dispatching side', () => {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => cleanup?.());

  it('queues dispatch and cancel while the remote is unreachable, shows the last known state, and delivers at the next contact', async () => {
    const bus = await makeBus({ node: 'laptop' });
    cleanup = bus.cleanup;
    const home = bus.home('laptop');
    const before = await bus.dispatch('laptop', ['known before going offline']);
    const away = `${bus.remote}.away`;
    renameSync(bus.remote, away);

    const d = await gitbus(['dispatch', 'validate the branch', '--no-git', '--json'], { home });
    expect(d.code, d.stderr).toBe(0);
    const queued = json<{ id: string; queued?: { reason: string } }>(d);
    expect(queued.queued?.reason).toContain(bus.remote);
    const human = await gitbus(['dispatch', 'a second one', '--no-git'], { home });
    expect(human.code, human.stderr).toBe(0);
    expect(human.stderr).toMatch(/queued .* the remote cannot be reached.*next contact/);
    const second = human.stdout.trim();
    const c = await gitbus(['cancel', before, '--reason', 'not needed', '--json'], { home });
    expect(c.code, c.stderr).toBe(0);
    expect(json<{ queued?: unknown }>(c).queued).toBeDefined();
    expect(readdirSync(join(home, 'queue')).filter((n) => n.endsWith('.json')).sort()).toEqual([`${before}.cancel.json`, `${queued.id}.dispatch.json`, `${second}.dispatch.json`].sort());

    // Reading commands: the last known state, with a warning and its age, not a failure.
    const st = await gitbus(['status'], { home });
    expect(st.code, st.stderr).toBe(0);
    expect(st.stderr).toMatch(/warning: the remote cannot be reached .*as this node last saw it \d+s ago/);
    expect(st.stdout).toContain('known before going offline');
    expect(st.stdout).toMatch(/queued here, not yet on the bus \(3/);
    const sj = json<{ offline: { code: string; lastContact: string | null } | null; queued: { id: string }[] }>(await gitbus(['status', '--json'], { home }));
    expect(sj.offline?.code).toBe('REMOTE_NOT_FOUND');
    expect(sj.offline?.lastContact).not.toBeNull();
    expect(sj.queued.map((q) => q.id).sort()).toEqual([before, queued.id, second].sort());
    const show = await gitbus(['show', before], { home });
    expect(show.code, show.stderr).toBe(0);
    expect(show.stderr).toContain('cannot be reached');
    const logs = await gitbus(['logs', before], { home });
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stderr).toContain('cannot be reached');
    // What cannot be queued still says the remote is down.
    expect((await gitbus(['claim', '--next'], { home })).code).toBe(6);
    // A dispatch still queued here is cancelled by taking it out of the queue: it never reaches the bus.
    const third = (await gitbus(['dispatch', 'never mind', '--no-git'], { home })).stdout.trim();
    const dropped = await gitbus(['cancel', third.slice(-6), '--json'], { home });
    expect(dropped.code, dropped.stderr).toBe(0);
    expect(json<{ id: string; state: string; dequeued?: boolean }>(dropped)).toMatchObject({ id: third, state: 'cancelled', dequeued: true });
    expect(readdirSync(join(home, 'queue'))).not.toContain(`${third}.dispatch.json`);
    // Kept aside with the cancel asked for, for a delivery that was sending it at that moment (the next test).
    expect(readdirSync(join(home, 'queue', 'dequeued')).sort()).toEqual([`${third}.cancel.json`, `${third}.dispatch.json`]);
    // collect lists what is still queued here among what is to come.
    const waiting = json<{ waiting: { id: string; state: string }[] }>(await gitbus(['collect', '--node', '--peek', '--json'], { home })).waiting;
    expect(waiting).toEqual(expect.arrayContaining([expect.objectContaining({ id: queued.id, state: 'queued' }), expect.objectContaining({ id: second, state: 'queued' })]));

    // Back on the network: the next command delivers everything, once.
    renameSync(away, bus.remote);
    const back = await gitbus(['status', '--json'], { home });
    expect(back.code, back.stderr).toBe(0);
    expect(back.stderr).toMatch(/delivered 3 queued changes/);
    const now = json<{ offline: unknown; queued: unknown[]; tasks: { id: string; state: string }[] }>(back);
    expect(now.offline).toBeNull();
    expect(now.queued).toEqual([]);
    expect(now.tasks.find((t) => t.id === queued.id)?.state).toBe('pending');
    expect(now.tasks.find((t) => t.id === second)?.state).toBe('pending');
    expect(now.tasks.find((t) => t.id === before)?.state).toBe('cancelled');
    const files = gitCli(['--git-dir', bus.remote, 'ls-tree', '-r', '--name-only', 'main']);
    expect(files).toContain(`handoffs/${queued.id}.md`);
    expect(files).toContain(`cancels/${before}.md`);
    expect(files).not.toContain(third);
    // One commit carried all three.
    expect(gitCli(['--git-dir', bus.remote, 'log', '-1', '--format=%s', 'main']).trim()).toBe('gitbus: deliver 3 queued changes from laptop');
    expect((await gitbus(['lint'], { home })).code).toBe(0);
  });

  it('a queued dispatch that others wait for, or one of a queued batch, is not taken out alone', async () => {
    const bus = await makeBus({ node: 'laptop' });
    cleanup = bus.cleanup;
    const home = bus.home('laptop');
    renameSync(bus.remote, `${bus.remote}.away`);
    const first = json<{ id: string }>(await gitbus(['dispatch', 'build', '--no-git', '--json'], { home })).id;
    const then = json<{ id: string }>(await gitbus(['dispatch', 'test', '--after', first, '--no-git', '--json'], { home })).id;
    const held = await gitbus(['cancel', first, '--json'], { home });
    expect(held.code).toBe(5);
    expect(json<{ error: { message: string; fix: string } }>(held).error).toMatchObject({ message: expect.stringContaining(`${then} (queued too) wait for it`), fix: expect.stringContaining('cancel that one first') });
    const batch = await gitbus(['dispatch', '--from', '-', '--no-git', '--json'], { home, input: '{"title":"one"}\n{"title":"two"}\n' });
    expect(batch.code, batch.stderr).toBe(0);
    const member = json<{ tasks: { id: string }[] }>(batch).tasks[0]?.id ?? '';
    const whole = await gitbus(['cancel', member, '--json'], { home });
    expect(whole.code).toBe(5);
    expect(json<{ error: { message: string } }>(whole).error.message).toContain('in a batch of 2');
    // A short ref to a queued dispatch in --after is written as its full id, so that it is matched on the bus.
    // It waits for a dispatch that is coming: no warning says it waits for a task that does not exist.
    const deploy = json<{ id: string; warnings: string[] }>(await gitbus(['dispatch', 'deploy', '--after', first.slice(-6), '--no-git', '--json'], { home }));
    const later = deploy.id;
    expect(deploy.warnings).toEqual([`--after ${first.slice(-6)} is taken as ${first}, the task it names`]);
    expect(readFileSync(join(home, 'queue', `${later}.dispatch.json`), 'utf8')).toContain(`after: [${first}]`);
    const lines = json<{ warnings?: string[] }>(await gitbus(['dispatch', '--from', '-', '--dry-run', '--no-git', '--json'], { home, input: `{"title":"three","after":["${first}"]}\n` }));
    expect(lines.warnings ?? []).toEqual([]);
    expect(json<{ dequeued?: boolean }>(await gitbus(['cancel', later, '--json'], { home })).dequeued).toBe(true);
    // A chosen id already queued is refused, not replaced; a prefix of several queued ids names them.
    expect((await gitbus(['dispatch', 'one', '--id', 'amb-one', '--no-git'], { home })).code).toBe(0);
    const dup = await gitbus(['dispatch', 'one again', '--id', 'amb-one', '--no-git', '--json'], { home });
    expect(dup.code).toBe(5);
    expect(json<{ error: { message: string } }>(dup).error.message).toContain('already queued on this node');
    expect((await gitbus(['dispatch', 'two', '--id', 'amb-two', '--no-git'], { home })).code).toBe(0);
    const amb = await gitbus(['cancel', 'amb-', '--json'], { home });
    expect(amb.code).toBe(4);
    expect(json<{ error: { message: string } }>(amb).error.message).toMatch(/matches 2 tasks: amb-(one|two), amb-(one|two)/);
    for (const id of ['amb-one', 'amb-two']) expect((await gitbus(['cancel', id], { home })).code).toBe(0);
    // In order, each goes.
    expect(json<{ dequeued?: boolean }>(await gitbus(['cancel', then, '--json'], { home })).dequeued).toBe(true);
    expect(json<{ dequeued?: boolean }>(await gitbus(['cancel', first, '--json'], { home })).dequeued).toBe(true);
    expect(readdirSync(join(home, 'queue')).filter((n) => n.endsWith('.dispatch.json'))).toHaveLength(2);
  });

  it("a node's watcher delivers what was queued in its home", async () => {
    const bus = await makeBus({ node: 'laptop', initArgs: ['--runner', 'shell'] });
    cleanup = bus.cleanup;
    const home = bus.home('laptop');
    const away = `${bus.remote}.away`;
    renameSync(bus.remote, away);
    const d = await gitbus(['dispatch', 'echo from the train', '--command', 'echo hi', '--to', 'laptop', '--no-git', '--json'], { home });
    expect(d.code, d.stderr).toBe(0);
    const id = json<{ id: string }>(d).id;
    renameSync(away, bus.remote);
    const w = await gitbus(['watch', '--once', '--json'], { home, timeoutMs: 60_000 });
    expect(w.code, w.stderr).toBe(0);
    const shown = json<{ state: string }>(await gitbus(['show', id, '--json'], { home }));
    expect(shown.state).toBe('succeeded');
    expect(existsSync(join(home, 'queue', `${id}.dispatch.json`))).toBe(false);
  });

  it('a queued handoff whose id another task took meanwhile is kept aside with the reason, not lost', async () => {
    const bus = await makeBus({ node: 'laptop' });
    cleanup = bus.cleanup;
    const home = bus.home('laptop');
    await bus.addNode('desk');
    const away = `${bus.remote}.away`;
    renameSync(bus.remote, away);
    const d = await gitbus(['dispatch', 'mine', '--id', 'shared-id', '--no-git', '--json'], { home });
    expect(d.code, d.stderr).toBe(0);
    renameSync(away, bus.remote);
    await bus.dispatch('desk', ['theirs', '--id', 'shared-id']);
    const st = await gitbus(['status'], { home });
    expect(st.code, st.stderr).toBe(0);
    expect(st.stderr).toMatch(/queued dispatch shared-id was refused: a different task with id shared-id reached the bus first \(kept in .*rejected/);
    expect(existsSync(join(home, 'queue', 'rejected', 'shared-id.dispatch.json'))).toBe(true);
  });

  it('a queue entry left by a dispatch killed after its push is not sent again once the task was archived', async () => {
    const bus = await makeBus({ node: 'laptop' });
    cleanup = bus.cleanup;
    const home = bus.home('laptop');
    const id = await bus.dispatch('laptop', ['done long ago']);
    const text = gitCli(['--git-dir', bus.remote, 'show', `main:handoffs/${id}.md`]);
    expect((await gitbus(['cancel', id], { home })).code).toBe(0);
    expect((await gitbus(['archive', '--all'], { home })).code).toBe(0);
    // What the killed process left: its entry, for a handoff the bus has had (and archived) since.
    mkdirSync(join(home, 'queue'), { recursive: true });
    writeFileSync(join(home, 'queue', `${id}.dispatch.json`), JSON.stringify({ kind: 'dispatch', id, path: `handoffs/${id}.md`, text, title: 'done long ago', queuedAt: new Date().toISOString(), chosenId: false }));
    const st = await gitbus(['status', '--json'], { home });
    expect(st.code, st.stderr).toBe(0);
    expect(json<{ tasks: { id: string }[] }>(st).tasks.map((t) => t.id)).not.toContain(id);
    expect(existsSync(join(home, 'queue', `${id}.dispatch.json`))).toBe(false);
    expect(gitCli(['--git-dir', bus.remote, 'ls-tree', '--name-only', 'main', 'handoffs/'])).not.toContain(id);
  });
  it('a dispatch a cancel takes out of the queue while another process of the node pushes it is cancelled on the bus by that process', async () => {
    const bus = await makeBus({ node: 'laptop' });
    cleanup = bus.cleanup;
    const home = bus.home('laptop');
    const away = `${bus.remote}.away`;
    renameSync(bus.remote, away);
    const id = (await gitbus(['dispatch', 'raced', '--no-git'], { home })).stdout.trim();
    renameSync(away, bus.remote);
    // As the push of the dispatch reaches the remote, its pre-receive hook does what `gitbus cancel` does in another
    // process of the node that found the remote away (bus/ops/cancel.ts): it takes the entry out of the queue.
    const script = join(home, 'dequeue.mjs');
    writeFileSync(
      script,
      `import { readFileSync } from 'node:fs';
import { dequeueDispatch } from ${JSON.stringify(pathToFileURL(join(ROOT, 'dist/bus/queue.js')).href)};
const [home, id] = process.argv.slice(2);
const entry = JSON.parse(readFileSync(home + '/queue/' + id + '.dispatch.json', 'utf8'));
const at = new Date().toISOString();
console.log(dequeueDispatch(home, entry, { kind: 'cancel', id, by: 'someone@laptop', reason: 'raced', at, queuedAt: at }) ? 'dequeued' : 'delivered');
`,
    );
    const hook = join(bus.remote, 'hooks', 'pre-receive');
    writeFileSync(hook, `#!/bin/sh\n[ -e '${home}/queue/${id}.dispatch.json' ] || exit 0\nexec '${process.execPath}' '${script}' '${home}' '${id}' > '${home}/hook.out' 2>&1\n`, { mode: 0o755 });

    const back = await gitbus(['status', '--json'], { home });
    expect(back.code, back.stderr).toBe(0);
    expect(readFileSync(join(home, 'hook.out'), 'utf8').trim()).toBe('dequeued');
    // The delivering process sent the dispatch, found it taken out meanwhile, and sent the cancel after it.
    expect(json<{ tasks: { id: string; state: string }[] }>(back).tasks.find((t) => t.id === id)?.state).toBe('cancelled');
    expect(readdirSync(join(home, 'queue')).filter((n) => n.endsWith('.json'))).toEqual([]);
    expect(readdirSync(join(home, 'queue', 'dequeued'))).toEqual([]);
    expect(gitCli(['--git-dir', bus.remote, 'show', `main:cancels/${id}.md`])).toContain('reason: raced');
  }, 120_000);
});
