import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { gitbus, gitCli, json } from '../helpers/cli.js';
import { ageClone, looseObjects } from '../helpers/clone-objects.js';
import { makeBus } from '../helpers/bus.js';
import { statusInProcess } from '../helpers/in-process.js';
import { startWatcher } from '../helpers/watcher-process.js';
import { until } from '../helpers/wait.js';
import { datedCommits } from '../helpers/dated-commits.js';
import { PRUNE_DEPTH } from '../../bus/store/clone-prune.js';
import { writeLooseObject } from '../../bus/git/loose-object.js';
import { fs } from '../../bus/node-fs.js';

interface Gc {
  dryRun: boolean;
  removed: number;
  removedBytes: number;
  loose: number;
  newBoundaries: number;
}

/**
 * `gitbus gc` and the watcher's own housekeeping of a node's clone (bus/store/clone-prune.ts), as processes on a
 * real bus: a node that fetched 80 commits made three hours ago and one made now holds what the last 64 (and main's
 * tree) need afterwards.
 */
describe('gitbus gc', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let beta: string;
  const children: ChildProcess[] = [];
  const clone = () => join(beta, 'clone.git');

  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha' });
    beta = await bus.addNode('beta', [], ['--runner', 'shell']);
    const person = join(bus.dir, 'person-work');
    gitCli(['clone', '-q', bus.remote, person]);
    datedCommits(person, 80, 'three hours ago', 3);
    await bus.dispatch('alpha', ['now', '--to', 'alpha']);
    await statusInProcess(beta);
  }, 120_000);
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await bus?.cleanup();
  });

  it('says what it does in --help, and refuses a grace that is no duration, naming the flag', async () => {
    const help = await gitbus(['gc', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--dry-run');
    expect(help.stdout).toContain('works offline');
    const bad = await gitbus(['gc', '--grace', 'soon', '--json'], { home: beta });
    expect(bad.code).toBe(2);
    expect(json<{ error: { message: string } }>(bad).error.message).toContain('--grace');
  });

  it('names the command that makes a node in a home without one', async () => {
    const empty = join(bus.dir, 'no-node-here');
    mkdirSync(empty);
    const r = await gitbus(['gc', '--json'], { home: empty });
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/gitbus (init|join)/);
  });

  it('counts in a dry run what a real run then removes; the node works on from the pruned clone', async () => {
    ageClone(clone());
    const before = looseObjects(clone()).length;
    const dry = json<Gc>(await gitbus(['gc', '--dry-run', '--json'], { home: beta }));
    expect(dry.dryRun).toBe(true);
    expect(dry.removed).toBeGreaterThan(0);
    expect(looseObjects(clone()).length).toBe(before);

    const run = await gitbus(['gc'], { home: beta });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`removed ${dry.removed} of ${before} loose objects`);
    expect(looseObjects(clone()).length).toBe(before - dry.removed);
    expect(gitCli(['--git-dir', clone(), 'rev-list', '--count', 'refs/heads/main']).trim()).toBe(String(PRUNE_DEPTH + 1));
    expect(gitCli(['--git-dir', clone(), 'fsck', '--no-dangling', '--connectivity-only'])).not.toMatch(/missing|broken/);

    const next = await bus.dispatch('alpha', ['after gc', '--to', 'alpha']);
    const status = await gitbus(['status', '--json'], { home: beta });
    expect(status.code, status.stderr).toBe(0);
    expect(json<{ tasks: { id: string }[] }>(status).tasks.map((t) => t.id)).toContain(next);
  });

  it("makes doctor warn about a clone with much to remove that nothing pruned for a day, and not once gc ran", async () => {
    // Garbage a node that never ran a watcher gathers: 1,200 objects nothing names, two hours old.
    for (let i = 0; i < 1200; i++) await writeLooseObject(fs, clone(), 'blob', Buffer.from(`left behind ${i}\n`));
    ageClone(clone());
    rmSync(join(clone(), 'gitbus-pruned'), { force: true });
    const check = async () => json<{ checks: { name: string; status: string; detail: string; fix: string | null }[] }>(await gitbus(['doctor', '--json'], { home: beta })).checks.find((c) => c.name === 'home.clone-size');
    const before = await check();
    expect(before?.status, before?.detail).toBe('warn');
    expect(before?.detail).toContain('never pruned');
    expect(before?.fix).toContain('gitbus gc');
    expect((await gitbus(['gc'], { home: beta })).code).toBe(0);
    const after = await check();
    expect(after?.status, after?.detail).toBe('ok');
    expect(after?.detail).toContain('last pruned');
  });

  it('is done by a watcher at start, which reports what it removed', async () => {
    // What a watcher finds to remove: objects nothing names, two hours old.
    for (let i = 0; i < 20; i++) await writeLooseObject(fs, clone(), 'blob', Buffer.from(`garbage ${i}\n`));
    ageClone(clone());
    const before = looseObjects(clone()).length;
    const w = startWatcher(beta, ['--poll', '5s'], children);
    await until('the watcher to prune its clone', () => w.events().some((e) => e.type === 'clone-pruned'), 60_000, () => w.stderr());
    const event = w.events().find((e) => e.type === 'clone-pruned') as unknown as { removed: number; freedBytes: number };
    expect(event.removed).toBeGreaterThan(0);
    expect(event.freedBytes).toBeGreaterThan(0);
    expect(looseObjects(clone()).length).toBeLessThan(before);
    w.child.kill('SIGTERM');
    await w.exited;
  }, 90_000);
});
