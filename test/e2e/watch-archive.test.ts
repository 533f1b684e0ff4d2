import { describe, it, expect, afterAll } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, gitbus, gitCli, json } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { until } from '../helpers/wait.js';

/** Housekeeping without a person: watchers archive finished tasks past archiveAfter, each exactly once across the fleet. */

const children: ChildProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const c of cleanups) await c();
});

function startWatcher(home: string): { child: ChildProcess; events: () => { type: string; id?: string; ids?: string[] }[]; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, 'watch', '--json', '--poll', '1s'], { env: { ...process.env, GITBUS_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  // 'close', not 'exit': at 'exit' the child's last lines may still be in the pipe, unread (Node's child_process docs).
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  return { child, events: () => out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; id?: string; ids?: string[] }), exited };
}

describe('watchers archive finished tasks', () => {
  it('two watchers with archiveAfter 1s move every finished task to the archive branch exactly once, and show still finds them', async () => {
    const bus = await makeBus({ node: 'boss' });
    cleanups.push(bus.cleanup);
    const a = await bus.addNode('a', [], ['--runner', 'shell']);
    const b = await bus.addNode('b', [], ['--runner', 'shell']);
    // A person sets archiveAfter with plain git, as with any bus file.
    const work = join(bus.dir, 'settings-edit');
    gitCli(['clone', '-q', bus.remote, work]);
    const yaml = readFileSync(join(work, 'gitbus.yaml'), 'utf8');
    writeFileSync(join(work, 'gitbus.yaml'), /^archiveAfter:/m.test(yaml) ? yaml.replace(/^archiveAfter: .*$/m, 'archiveAfter: 1s') : `${yaml}archiveAfter: 1s\n`);
    gitCli(['commit', '-q', '-am', 'archive after 1s'], work);
    gitCli(['push', '-q', 'origin', 'HEAD:main'], work);

    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push(await bus.dispatch('boss', [`task ${i}`, '--command', `echo task ${i}`]));
    const wa = startWatcher(a);
    const wb = startWatcher(b);
    const onMain = () => gitCli(['--git-dir', bus.remote, 'ls-tree', '-r', '--name-only', 'main']);
    const inArchive = () => {
      try {
        return gitCli(['--git-dir', bus.remote, 'ls-tree', '-r', '--name-only', 'archive']);
      } catch {
        return '';
      }
    };
    await until(
      'every task to leave main for the archive branch',
      () => ids.every((id) => !onMain().includes(id) && inArchive().includes(`/${id}/response.md`)),
      90_000,
      () => `main:\n${onMain()}\narchive:\n${inArchive()}\nevents a: ${JSON.stringify(wa.events())}\nevents b: ${JSON.stringify(wb.events())}`,
    );

    const archived = inArchive().split('\n').filter(Boolean);
    for (const id of ids) {
      // One folder per task in the archive, holding its handoff, claim and response.
      const folders = new Set(archived.filter((p) => p.split('/')[1] === id).map((p) => p.split('/').slice(0, 2).join('/')));
      expect(folders.size, id).toBe(1);
      const [folder] = [...folders];
      expect(archived.filter((p) => p.startsWith(`${folder}/`)).sort()).toEqual([`${folder}/claim.1.md`, `${folder}/handoff.md`, `${folder}/response.md`]);
      // Exactly once: one commit added it to the archive, one removed it from main.
      expect(gitCli(['--git-dir', bus.remote, 'log', '--format=%H', '--diff-filter=A', 'archive', '--', `${folder}/handoff.md`]).trim().split('\n'), id).toHaveLength(1);
      expect(gitCli(['--git-dir', bus.remote, 'log', '--format=%H', '--diff-filter=D', 'main', '--', `handoffs/${id}.md`]).trim().split('\n'), id).toHaveLength(1);
      const shown = json<{ state: string; archived: string | null }>(await gitbus(['show', id, '--json'], { home: bus.home('boss') }));
      expect(shown.state, id).toBe('succeeded');
      expect(shown.archived, id).toBeTruthy();
    }
    // The watchers report what they moved; together, every task.
    const reported = new Set([...wa.events(), ...wb.events()].filter((e) => e.type === 'archived').flatMap((e) => e.ids ?? []));
    expect([...reported].sort()).toEqual([...ids].sort());
    // status no longer lists them.
    const status = await gitbus(['status', '--json'], { home: bus.home('boss') });
    for (const id of ids) expect(status.stdout).not.toContain(id);

    for (const w of [wa, wb]) w.child.kill('SIGTERM');
    expect(await wa.exited).toBe(0);
    expect(await wb.exited).toBe(0);
  }, 150_000);
});
