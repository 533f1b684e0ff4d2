import { describe, it, expect, afterAll } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import { rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gitCli } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { bounded, until } from '../helpers/wait.js';
import { startWatcher, type WatcherProcess } from '../helpers/watcher-process.js';

const children: ChildProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  for (const c of cleanups) await c();
});

/**
 * Something a person put where the watcher writes stays there until a person moves it, and every wake that claims
 * meets it again: the watcher says it once (an `error` event), says a different one once more, and goes on with its
 * work once the path is free.
 */
describe('a watcher meeting the same thing in the way at every wake', () => {
  it('says PATH_OCCUPIED once per distinct problem, not at every wake, and claims once claims/ is a folder again', async () => {
    const bus = await makeBus({ node: 'alpha', initArgs: ['--runner', 'shell'] });
    cleanups.push(bus.cleanup);
    const home = bus.home('alpha');
    const id = await bus.dispatch('alpha', ['runs once claims/ is free', '--command', 'true']);
    const work = join(bus.dir, 'person');
    gitCli(['clone', '-q', bus.remote, work]);
    const pushed = (message: string) => {
      gitCli(['add', '-A'], work);
      gitCli(['commit', '-q', '-m', message], work);
      gitCli(['push', '-q', 'origin', 'HEAD:main'], work);
    };
    await writeFile(join(work, 'claims'), 'a file where the claims folder goes\n');
    pushed('a file named claims');

    const w = startWatcher(home, ['--poll', '1s'], children);
    const explain = () => `events:\n${w.events().map((e) => JSON.stringify(e)).join('\n')}\nstderr:\n${w.stderr()}`;
    const occupied = (watcher: WatcherProcess) => watcher.events().filter((e) => e.type === 'error' && e.code === 'PATH_OCCUPIED').map((e) => String(e['message']));
    await until('the watcher to say claims is a file', () => occupied(w).length > 0, 30_000, explain);
    // Every look at the remote touches the clone's contact file: three more looks are three more wakes that met it.
    const contact = join(home, 'clone.git', 'gitbus-last-contact');
    const looks: number[] = [];
    await until('three more looks at the remote', () => {
      const at = statSync(contact).mtimeMs;
      if (looks.at(-1) !== at) looks.push(at);
      return looks.length > 3;
    }, 30_000, explain);
    expect(occupied(w)).toEqual(['claims is a file in the repository, where gitbus writes a folder; writing it would delete what is there']);

    // Another thing in the same way is another problem: said once too.
    gitCli(['rm', '-q', 'claims'], work);
    await symlink('handoffs', join(work, 'claims'));
    pushed('a link named claims');
    await until('the watcher to say claims is a link', () => occupied(w).length > 1, 30_000, explain);
    // Then the path is free: the task runs, and the watcher never repeated either problem.
    await rm(join(work, 'claims'));
    pushed('claims is free again');
    await until('the task to finish', () => w.events().some((e) => e.type === 'finished' && e.id === id), 30_000, explain);
    expect(occupied(w)).toEqual([
      'claims is a file in the repository, where gitbus writes a folder; writing it would delete what is there',
      'claims is a symbolic link in the repository, where gitbus writes a folder; writing it would delete what is there',
    ]);
    expect(w.stderr()).toBe('');
    w.child.kill('SIGTERM');
    expect(await bounded(w.exited, 30_000, 'the watcher to stop')).toBe(0);
  });
});
