import { afterAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { gitbus, gitCli, json } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { pointAt } from '../helpers/in-process.js';
import { mainOf } from '../helpers/refs.js';

/**
 * A remote whose main is not the bus this node knows: node.yaml pointed at a project's repository, or the bus's main
 * replaced by a force-push. A node writes nothing on top of such a main and runs nothing from it.
 */
const children: ChildProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  for (const c of cleanups.reverse()) await c();
});

/** A project's repository as plain git makes it: one commit on main, no gitbus.yaml. */
function projectRepo(dir: string): string {
  const work = join(dir, 'proj');
  gitCli(['init', '-q', '-b', 'main', work]);
  gitCli(['-c', 'user.name=p', '-c', 'user.email=p@p', 'commit', '-q', '--allow-empty', '-m', 'project code'], work);
  const bare = join(dir, 'proj.git');
  gitCli(['clone', '-q', '--bare', work, bare]);
  return bare;
}

describe('a remote main that is not a bus', () => {
  it('is refused as NOT_A_BUS by dispatch and the watcher, and nothing is written into it', { timeout: 120_000 }, async () => {
    const bus = await makeBus({ node: 'boss' });
    cleanups.push(bus.cleanup);
    const home = await bus.addNode('a', [], ['--runner', 'shell']);
    const proj = projectRepo(bus.dir);
    const before = mainOf(proj);
    await pointAt(home, proj);
    const d = await gitbus(['dispatch', 'hello', '--command', 'true', '--no-git', '--json'], { home });
    expect(d.code, d.stdout + d.stderr).toBe(7);
    const err = json<{ error: { code: string; message: string; fix: string } }>(d).error;
    expect(err.code).toBe('NOT_A_BUS');
    expect(err.message).toContain('has no gitbus.yaml');
    expect(err.fix).toContain(join(home, 'node.yaml'));
    const w = await gitbus(['watch', '--once', '--json'], { home, timeoutMs: 60_000 });
    expect(w.code, w.stdout + w.stderr).toBe(7);
    expect(w.stdout + w.stderr).toContain('NOT_A_BUS');
    expect(w.stdout).not.toContain('"claimed"');
    expect(mainOf(proj)).toBe(before);
    expect(gitCli(['--git-dir', proj, 'ls-tree', '-r', '--name-only', 'main']).trim()).toBe('');
  });
});
