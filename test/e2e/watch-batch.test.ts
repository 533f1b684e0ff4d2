import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startWatcher } from '../helpers/watcher-process.js';
import { until } from '../helpers/wait.js';
import { gitbus, gitCli, json } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { pushFiles } from '../helpers/push-access.js';

/**
 * A watcher with free slots claims as many tasks as it has slots in one commit, and results that are ready together
 * go out in one commit (issue 14, batching): one push instead of one per task, each decided from one snapshot, so
 * compare-and-swap is unchanged.
 */
let bus: Awaited<ReturnType<typeof makeBus>>;
let w: string;
let person: string;
const children: ChildProcess[] = [];
const ids = ['batch-a', 'batch-b', 'batch-c', 'batch-d', 'batch-e'];

beforeAll(async () => {
  bus = await makeBus({ node: 'boss' });
  w = await bus.addNode('w', [], ['--runner', 'shell', '--parallel', '4']);
  person = join(bus.dir, 'person');
  gitCli(['clone', '-q', bus.remote, person]);
  pushFiles(person, Object.fromEntries(ids.map((id, i) => [`handoffs/${id}.md`, `---\ntitle: batch ${i}\nto: w\ncommand: "true"\npriority: ${9 - i}\n---\n`])), 'five tasks');
}, 30_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
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

  it('results that are ready together, queued while the remote was away, go out in one commit', async () => {
    const go = join(bus.dir, 'go');
    const held = ['held-a', 'held-b', 'held-c'];
    pushFiles(person, Object.fromEntries(held.map((id) => [`handoffs/${id}.md`, `---\ntitle: ${id}\nto: w\ncommand: "for i in $(seq 1 400); do [ -e ${go} ] && exit 0; sleep 0.05; done; exit 1"\n---\n`])), 'three tasks that wait');
    const watcher = startWatcher(w, ['--poll', '1s', '--retry', '1s'], children);
    const status = async () => json<{ tasks: { id: string; state: string }[] }>(await gitbus(['status', '--json'], { home: bus.home('boss') })).tasks;
    await until('w to claim the three', async () => (await status()).filter((t) => held.includes(t.id) && t.state === 'claimed').length === 3, 20_000, () => watcher.stderr());
    renameSync(bus.remote, `${bus.remote}.away`);
    writeFileSync(go, '');
    await until('the three results to wait in the outbox', () => watcher.events().filter((e) => e.type === 'queued').length === 3, 20_000, () => watcher.stderr());
    renameSync(`${bus.remote}.away`, bus.remote);
    await until('the results to be delivered', () => watcher.events().filter((e) => e.type === 'delivered').length === 3, 30_000, () => watcher.stderr());
    // Every commit that wrote one of their responses: exactly one, with the three.
    const commits = gitCli(['log', '--format=%H', 'main', '--', ...held.map((id) => `responses/${id}.md`)], bus.remote).split('\n').filter(Boolean);
    expect(commits).toHaveLength(1);
    expect(gitCli(['log', '-1', '--format=%s', commits[0] ?? ''], bus.remote).trim()).toBe('gitbus: respond 3 tasks by w');
    expect(gitCli(['show', '--name-only', '--format=', commits[0] ?? ''], bus.remote).split('\n').filter((f) => f.startsWith('responses/')).sort()).toEqual(held.map((id) => `responses/${id}.md`));
    for (const t of (await status()).filter((x) => held.includes(x.id))) expect(t.state, t.id).toBe('succeeded');
  }, 60_000);

  it('a busy watcher answers a task and claims its next one in the same commit: one push a task', async () => {
    const solo = await bus.addNode('solo', [], ['--runner', 'shell', '--parallel', '1']);
    const queue = ['next-a', 'next-b', 'next-c', 'next-d'];
    // Each run holds a folder while it runs: two runs at once (more than the one slot) would fail the second.
    const slot = join(bus.dir, 'solo-slot');
    pushFiles(person, Object.fromEntries(queue.map((id, i) => [`handoffs/${id}.md`, `---\ntitle: ${id}\nto: solo\ncommand: "mkdir ${slot} && sleep 0.2 && rmdir ${slot}"\npriority: ${9 - i}\n---\n`])), 'a queue for solo');
    const watcher = startWatcher(solo, ['--poll', '1s'], children);
    await until('solo to finish the queue', () => watcher.events().filter((e) => e.type === 'delivered' && queue.includes(e.id ?? '')).length === queue.length, 30_000, () => watcher.stderr());
    const subjects = gitCli(['log', '--reverse', '--format=%s', '--author', 'solo', 'main'], bus.remote).split('\n').filter((l) => l.startsWith('gitbus: claim') || l.startsWith('gitbus: respond'));
    // The first claim goes alone; each result carries the next claim; the last result goes alone.
    expect(subjects).toEqual([
      'gitbus: claim next-a attempt 1 by solo',
      'gitbus: respond next-a succeeded and claim next-b attempt 1 by solo',
      'gitbus: respond next-b succeeded and claim next-c attempt 1 by solo',
      'gitbus: respond next-c succeeded and claim next-d attempt 1 by solo',
      'gitbus: respond next-d succeeded by solo',
    ]);
    const both = gitCli(['log', '--format=%H', '--grep', '^gitbus: respond next-a', 'main'], bus.remote).trim();
    expect(gitCli(['show', '--name-only', '--format=', both], bus.remote).split('\n').filter(Boolean).sort()).toEqual(['claims/next-b.1.md', 'responses/next-a.md']);
    const claimed = watcher.events().filter((e) => e.type === 'claimed').map((e) => e.id);
    expect(claimed).toEqual(queue);
    expect(watcher.events().filter((e) => e.type === 'lost-race')).toEqual([]);
  }, 60_000);

  it('after a crash, results left in the outbox go alone: the next task is claimed once restart recovery has run', async () => {
    const late = await bus.addNode('late', [], ['--runner', 'shell', '--parallel', '1']);
    const go = join(bus.dir, 'late-go');
    pushFiles(person, { 'handoffs/late-a.md': `---\ntitle: late-a\nto: late\ncommand: "for i in $(seq 1 400); do [ -e ${go} ] && exit 0; sleep 0.05; done; exit 1"\n---\n` }, 'a task that waits');
    const first = startWatcher(late, ['--poll', '1s', '--retry', '1s'], children);
    await until('late to claim late-a', () => first.events().some((e) => e.type === 'claimed' && e.id === 'late-a'), 20_000, () => first.stderr());
    renameSync(bus.remote, `${bus.remote}.away`);
    writeFileSync(go, '');
    await until('the result to wait in the outbox', () => first.events().some((e) => e.type === 'queued' && e.id === 'late-a'), 20_000, () => first.stderr());
    first.child.kill('SIGKILL');
    await first.exited;
    renameSync(`${bus.remote}.away`, bus.remote);
    pushFiles(person, { 'handoffs/late-b.md': `---\ntitle: late-b\nto: late\ncommand: "sleep 1"\n---\n` }, 'the next task');
    const second = startWatcher(late, ['--poll', '1s'], children);
    await until('late-b to be answered', () => second.events().some((e) => e.type === 'delivered' && e.id === 'late-b'), 30_000, () => second.stderr());
    // late-b ran once, as attempt 1: no claim of it was taken for one the crash left behind and released.
    expect(second.events().filter((e) => e.type === 'released')).toEqual([]);
    expect(second.events().filter((e) => e.type === 'claimed' && e.id === 'late-b').map((e) => e.attempt)).toEqual([1]);
    expect(gitCli(['ls-tree', '--name-only', 'main', 'claims/'], bus.remote).split('\n').filter((f) => f.includes('late-b'))).toEqual(['claims/late-b.1.md']);
    const s = json<{ tasks: { id: string; state: string }[] }>(await gitbus(['status', '--json'], { home: bus.home('boss') }));
    expect(s.tasks.find((t) => t.id === 'late-a')?.state).toBe('succeeded');
    expect(s.tasks.find((t) => t.id === 'late-b')?.state).toBe('succeeded');
  }, 90_000);
});
