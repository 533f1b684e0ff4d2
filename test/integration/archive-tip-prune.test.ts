import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { pruneArchiveTip } from '../../bus/archive/tip-prune.js';
import { gitbus, gitCli, json } from '../helpers/cli.js';
import { ageClone, looseObjects } from '../helpers/clone-objects.js';
import { makeBus } from '../helpers/bus.js';
import { startGitHttpServer, type GitHttpServer } from '../helpers/git-http-server.js';
import { startWatcher } from '../helpers/watcher-process.js';
import { until } from '../helpers/wait.js';
import { archivedTask, joinNode, showInProcess } from '../helpers/in-process.js';

const HOUR = 3600_000;

/**
 * The archive's tip repository inside a clone (bus/archive/shallow-tip.ts), which a node whose remote serves no path
 * reads fetches each archive tip into at depth 1 when it looks up an archived task: the earlier tips' commits and the
 * trees the later ones replaced stayed for good, until the clone's housekeeping pruned them (bus/archive/tip-prune.ts).
 * A real bus served over HTTP by git http-backend without the options path reads need, read back with the git CLI.
 */
describe("the archive tip repository's housekeeping", () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let server: GitHttpServer;
  let h: string;
  let side: string;
  const children: ChildProcess[] = [];
  const boss = () => bus.home('boss');
  const archiveTip = () => gitCli(['--git-dir', bus.remote, 'rev-parse', 'archive']).trim();
  const holds = (oid: string) => spawnSync('git', ['--git-dir', side, 'cat-file', '-e', oid]).status === 0;
  const shallow = () => readFileSync(join(side, 'shallow'), 'utf8').split('\n').filter(Boolean).sort();
  /** A task finished and archived by boss, then looked up on h: h's tip repository fetches the new archive tip. */
  const archivedAndRead = async (title: string): Promise<{ id: string; tip: string }> => {
    const id = await archivedTask(boss(), title);
    expect((await showInProcess<{ state: string }>(h, id)).state).toBe('succeeded');
    return { id, tip: archiveTip() };
  };
  /** Every loose object of the tip repository and its ref made `ms` old, as after a while of use. */
  const age = (ms = 2 * HOUR) => {
    ageClone(side, ms);
    const when = (Date.now() - ms) / 1000;
    utimesSync(join(side, 'refs', 'heads', 'archive'), when, when);
  };

  beforeAll(async () => {
    bus = await makeBus({ node: 'boss' });
    server = await startGitHttpServer({ projectRoot: bus.dir });
    // The options a bus gitbus init made has, removed: neither filters nor any-object wants, so no path reads.
    gitCli(['--git-dir', bus.remote, 'config', '--unset', 'uploadpack.allowFilter']);
    gitCli(['--git-dir', bus.remote, 'config', '--unset', 'uploadpack.allowAnySHA1InWant']);
    h = bus.home('h');
    await joinNode(h, `${server.url}/remote.git`, { node: 'h', runners: ['shell'] });
    side = join(h, 'clone.git', 'gitbus-archive-tip.git');
  }, 60_000);
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await server?.close();
    await bus?.cleanup();
  });

  it('cuts the history at the tip and removes the earlier tips and the trees they alone name once older than the grace, keeps the tip whole, and lookups go on as before', async () => {
    const read = [await archivedAndRead('one'), await archivedAndRead('two'), await archivedAndRead('three')];
    const [first, second, third] = read as [(typeof read)[0], (typeof read)[0], (typeof read)[0]];
    // Each lookup fetched its tip, whose parent (the tip before) was here: the archive's whole history since the first.
    expect(gitCli(['--git-dir', side, 'rev-list', 'refs/heads/archive']).trim().split('\n')).toEqual([third.tip, second.tip, first.tip]);
    const earlierRoot = gitCli(['--git-dir', side, 'rev-parse', `${second.tip}^{tree}`]).trim();
    const clone = join(h, 'clone.git');

    // The tip fetched within the grace: a lookup elsewhere may still read the one before it. Nothing looked at.
    expect(await pruneArchiveTip(clone, { graceMs: HOUR })).toMatchObject({ removed: 0, skipped: 'young' });

    age();
    const loose = looseObjects(side).length;
    const dry = await pruneArchiveTip(clone, { graceMs: HOUR, dryRun: true });
    expect(dry?.removed).toBeGreaterThanOrEqual(4);
    expect(dry?.skipped).toBeUndefined();
    expect(looseObjects(side)).toHaveLength(loose);
    expect(existsSync(join(side, 'shallow'))).toBe(false);

    const r = await pruneArchiveTip(clone, { graceMs: HOUR });
    expect(r).toMatchObject({ removed: dry?.removed, removedBytes: dry?.removedBytes });
    expect(r?.removedBytes).toBeGreaterThan(0);
    expect(r?.bytesAfter).toBe((r?.bytesBefore ?? 0) - (r?.removedBytes ?? 0));
    expect(looseObjects(side)).toHaveLength(loose - (r?.removed ?? 0));
    // The earlier tips' commits and the trees they alone named are gone; the history ends at the tip.
    expect(holds(first.tip)).toBe(false);
    expect(holds(second.tip)).toBe(false);
    expect(holds(earlierRoot)).toBe(false);
    expect(shallow()).toEqual([third.tip]);
    // The tip whole, as git reads it (every task's folder under the index), and a repository git finds sound.
    expect(gitCli(['--git-dir', side, 'ls-tree', '-r', 'refs/heads/archive']).split('\n').filter((l) => /^\S+ blob \S+\tids\/.*\/response\.md$/.test(l))).toHaveLength(3);
    gitCli(['--git-dir', side, 'fsck', '--no-dangling', '--no-progress']);

    // Pruned at this tip: the next run has nothing to do until the tip moves.
    expect(await pruneArchiveTip(clone, { graceMs: HOUR })).toMatchObject({ removed: 0, skipped: 'settled' });

    // The tip moves: the next lookup fetches what the new one adds to the cut tip, and every task is found.
    const fourth = await archivedAndRead('four');
    expect(gitCli(['--git-dir', side, 'rev-list', 'refs/heads/archive']).trim().split('\n')).toEqual([fourth.tip, third.tip]);
    for (const { id } of read) expect((await showInProcess<{ state: string }>(h, id)).state).toBe('succeeded');
    expect(await pruneArchiveTip(clone, { graceMs: HOUR })).toMatchObject({ skipped: 'young' });
    age();
    const later = await pruneArchiveTip(clone, { graceMs: HOUR });
    expect(later?.removed).toBeGreaterThan(0);
    expect(holds(third.tip)).toBe(false);
    expect(shallow()).toEqual([fourth.tip]);
    gitCli(['--git-dir', side, 'fsck', '--no-dangling', '--no-progress']);
  });

  it('keeps what a fetch under way wrote: loose objects younger than the grace, named by nothing yet', async () => {
    const clone = join(h, 'clone.git');
    await archivedAndRead('five');
    age();
    // An object a fetch has just written, before the ref names it.
    const fresh = gitCli(['--git-dir', side, 'hash-object', '-w', '--stdin'], undefined, 'a fetch under way\n').trim();
    const r = await pruneArchiveTip(clone, { graceMs: HOUR });
    expect(r?.removed).toBeGreaterThan(0);
    expect(holds(fresh)).toBe(true);
  });

  it('a watcher prunes it at start, with the clone, and counts it in its clone-pruned event', async () => {
    const { tip: earlier } = await archivedAndRead('seven');
    const { tip } = await archivedAndRead('eight');
    age();
    const w = startWatcher(h, ['--poll', '5s'], children);
    await until('the watcher to prune', () => w.events().some((e) => e.type === 'clone-pruned'), 60_000, () => w.stderr() + JSON.stringify(w.events()));
    expect((w.events().find((e) => e.type === 'clone-pruned') as unknown as { removed: number }).removed).toBeGreaterThan(0);
    expect(holds(earlier)).toBe(false);
    expect(shallow()).toEqual([tip]);
    w.child.kill('SIGTERM');
    await w.exited;
  }, 90_000);

  it('gitbus gc prunes it with the clone and says so; a clone without one reports none', async () => {
    await archivedAndRead('six');
    age();
    const dry = await gitbus(['gc', '--dry-run'], { home: h });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/the archive's tip repository: would remove [1-9]\d* objects of earlier tips/);
    const r = await gitbus(['gc', '--json'], { home: h });
    expect(r.code, r.stderr).toBe(0);
    expect(json<{ archiveTip: { removed: number } | null }>(r).archiveTip?.removed).toBeGreaterThan(0);
    const again = await gitbus(['gc'], { home: h });
    expect(again.stdout).toContain("the archive's tip repository: pruned at its tip already");
    const plain = await gitbus(['gc', '--json'], { home: boss() });
    expect(json<{ archiveTip: unknown }>(plain).archiveTip).toBeNull();
  });
});
