import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pruneArchiveTip, REPACK_LOOSE } from '../../bus/archive/tip-prune.js';
import { shallowTipSource } from '../../bus/archive/shallow-tip.js';
import { openBus } from '../../bus/context.js';
import { LocalTransport } from '../../bus/transport/local.js';
import { gitAt } from '../helpers/dated-commits.js';
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
  /** Every loose object of a tip repository and its ref made two hours old, as after a while of use. */
  const age = (repo = side) => {
    ageClone(repo, 2 * HOUR);
    const when = (Date.now() - 2 * HOUR) / 1000;
    utimesSync(join(repo, 'refs', 'heads', 'archive'), when, when);
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

    // The tip moves: the next lookup fetches it, and every task is found. (What it fetches: the test with dated
    // commits below. Here the archive's commits share a second, which the remote's bound cannot tell apart: the fetch
    // falls back to depth 1, which may bring back a commit or two below the cut, and the next prune takes them.)
    const fourth = await archivedAndRead('four');
    expect(gitCli(['--git-dir', side, 'rev-parse', 'refs/heads/archive']).trim()).toBe(fourth.tip);
    for (const { id } of read) expect((await showInProcess<{ state: string }>(h, id)).state).toBe('succeeded');
    expect(await pruneArchiveTip(clone, { graceMs: HOUR })).toMatchObject({ skipped: 'young' });
    age();
    const later = await pruneArchiveTip(clone, { graceMs: HOUR });
    expect(later?.removed).toBeGreaterThan(0);
    expect(holds(third.tip)).toBe(false);
    expect(gitCli(['--git-dir', side, 'rev-list', 'refs/heads/archive']).trim()).toBe(fourth.tip);
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

  it('a lookup after the archive moved fetches what the new tip adds, not the whole tip, nor what a prune removed; a rewritten archive only its last hour', async () => {
    await archivedAndRead('before the dated commits');
    const work = join(bus.dir, 'archive-writer');
    gitCli(['clone', '-q', '--branch', 'archive', bus.remote, work]);
    /** A commit of one task's folder more (`m/0/<name>/response.md`), `hoursAgo`, pushed over the archive. */
    const commitAt = (name: string, hoursAgo: number): string => {
      mkdirSync(join(work, 'm', '0', name), { recursive: true });
      writeFileSync(join(work, 'm', '0', name, 'response.md'), `${name}\n`);
      gitAt(work, ['add', '.']);
      gitAt(work, ['commit', '-q', '-m', name], hoursAgo);
      gitAt(work, ['push', '-q', '-f', 'origin', 'HEAD:archive']);
      return gitAt(work, ['rev-parse', 'HEAD']).trim();
    };
    const h2 = bus.home('h2');
    await joinNode(h2, `${server.url}/remote.git`, { node: 'h2' });
    const side2 = join(h2, 'clone.git', 'gitbus-archive-tip.git');
    const ctx = await openBus(h2);
    const objects = () => new Set(gitCli(['--git-dir', side2, 'cat-file', '--batch-all-objects', '--batch-check=%(objectname)']).split('\n').filter(Boolean));
    const history = () => gitCli(['--git-dir', side2, 'rev-list', 'refs/heads/archive']).trim().split('\n');
    const lookUp = async (tip: string) => (await shallowTipSource(ctx.repo, tip)).close();
    try {
      // An archive of its own from here on (pushed over by hand): a first commit of 500 tasks' folders, over the
      // 1,000 objects from which a fetch keeps its pack, then one file a commit.
      gitAt(work, ['checkout', '-q', '--orphan', 'dated']);
      gitAt(work, ['rm', '-rqf', '.']);
      for (let i = 0; i < 500; i++) {
        mkdirSync(join(work, 'm', String(i % 50), String(i)), { recursive: true });
        writeFileSync(join(work, 'm', String(i % 50), String(i), 'response.md'), `${i}\n`);
      }
      gitAt(work, ['add', '.']);
      await lookUp(commitAt('a1', 4));
      expect(objects().size).toBeGreaterThan(1000);
      const a2 = commitAt('a2', 2);
      const before = objects();
      await lookUp(a2);
      // The commit, the trees on the way to the new folder, the folder and its file: not the tip's whole tree again.
      expect([...objects()].filter((o) => !before.has(o))).toHaveLength(6);
      // The prune cuts the history at a2 (a1 stays, in the first fetch's pack, the only one: nothing to merge).
      age(side2);
      expect((await pruneArchiveTip(join(h2, 'clone.git'), { graceMs: HOUR }))?.skipped).toBeUndefined();
      expect(history()).toEqual([a2]);
      // After the cut at a2: a3 and what it adds, and no commit below the cut (a1 is older than the hour before a2).
      const a3 = commitAt('a3', 1);
      const cut = objects();
      await lookUp(a3);
      expect([...objects()].filter((o) => !cut.has(o))).toHaveLength(6);
      expect(history()).toEqual([a3, a2]);

      // The archive rewritten (pushed over by hand): a history of its own, 20 commits five hours old and one now.
      gitAt(work, ['checkout', '-q', '--orphan', 'rewritten']);
      for (let i = 0; i < 20; i++) commitAt(`old-${i}`, 5);
      const b = commitAt('b', 0);
      await lookUp(b);
      expect(history()).toEqual([b]);
    } finally {
      await ctx.repo.close();
    }
  });

  it('merges its packs into one of what the cut history names: the earlier tips in them go too', async () => {
    const { tip: packedTip } = await archivedAndRead('packed');
    // Packs as fetches of 1,000 objects or more leave them: the first, the whole tip of its time, and a later one.
    gitCli(['--git-dir', side, 'repack', '-q', '-d']);
    const { tip } = await archivedAndRead('packed again');
    gitCli(['--git-dir', side, 'repack', '-q', '-d']);
    const packs = () => readdirSync(join(side, 'objects', 'pack')).filter((n) => n.endsWith('.pack'));
    expect(packs().length).toBeGreaterThanOrEqual(2);
    age();
    const when = (Date.now() - 2 * HOUR) / 1000;
    for (const f of readdirSync(join(side, 'objects', 'pack'))) utimesSync(join(side, 'objects', 'pack', f), when, when);
    // A lookup's fetch under way: its pack moved in, the ref not yet written (young objects nothing names yet).
    const fetching = gitCli(['--git-dir', side, 'hash-object', '-w', '--stdin'], undefined, 'a fetch under way\n').trim();
    execFileSync('git', ['--git-dir', side, 'pack-objects', '-q', join(side, 'objects', 'pack', 'pack')], { input: `${fetching}\n` });
    gitCli(['--git-dir', side, 'prune-packed']);
    expect(packs()).toHaveLength(3);
    const r = await pruneArchiveTip(join(h, 'clone.git'), { graceMs: HOUR });
    expect(r?.repacked).toBe(3);
    expect(packs()).toHaveLength(1);
    expect(holds(packedTip)).toBe(false);
    // Young, it stays (loose, for the next run to judge by its age).
    expect(holds(fetching)).toBe(true);
    expect(gitCli(['--git-dir', side, 'rev-list', 'refs/heads/archive']).trim()).toBe(tip);
    gitCli(['--git-dir', side, 'fsck', '--no-dangling', '--no-progress']);
  });

  it('a repository git cannot read is removed (a cache: the next lookup fetches the tip again), and gc goes on and reports the clone', async () => {
    const { id } = await archivedAndRead('before the damage');
    writeFileSync(join(side, 'refs', 'heads', 'archive'), `${'0'.repeat(39)}1\n`);
    age();
    const dry = await gitbus(['gc', '--dry-run', '--json'], { home: h });
    expect(dry.code, dry.stderr).toBe(0);
    expect(json<{ archiveTip: { skipped: string } }>(dry).archiveTip.skipped).toBe('damaged');
    expect(existsSync(side)).toBe(true);
    const r = await gitbus(['gc', '--json'], { home: h });
    expect(r.code, r.stderr).toBe(0);
    const report = json<{ loose: number; archiveTip: { skipped: string; reason: string } }>(r);
    expect(report.loose).toBeGreaterThan(0);
    expect(report.archiveTip).toMatchObject({ skipped: 'damaged', reason: expect.stringMatching(/\S/) });
    expect(existsSync(side)).toBe(false);
    expect((await showInProcess<{ state: string }>(h, (await archivedAndRead('after the damage')).id)).state).toBe('succeeded');
    expect((await showInProcess<{ state: string }>(h, id)).state).toBe('succeeded');
    expect(existsSync(join(side, 'HEAD'))).toBe(true);
  });

  /**
   * A plain repository read through git's service (as over SSH): an archive of tasks' folders under 40 shards, each
   * `run` an archive run of that many tasks dated an hour after the one before, and a node's tip repository it feeds.
   */
  const plainArchive = (name: string) => {
    const dir = join(bus.dir, name);
    const remote = join(dir, 'remote.git');
    const work = join(dir, 'work');
    gitCli(['init', '-q', '--bare', remote]);
    gitCli(['init', '-q', work]);
    let k = 0;
    let hoursAgo = 10;
    const run = (tasks: number): string => {
      for (let i = 0; i < tasks; i++, k++) {
        const folder = join(work, 'm', String(k % 40), String(k));
        mkdirSync(folder, { recursive: true });
        writeFileSync(join(folder, 'handoff.md'), `task ${k}\n`);
        writeFileSync(join(folder, 'response.md'), `done ${k}\n`);
      }
      gitAt(work, ['add', '-A']);
      gitAt(work, ['commit', '-q', '-m', `run ${k}`], hoursAgo--);
      gitAt(work, ['push', '-q', remote, 'HEAD:refs/heads/archive']);
      return gitAt(work, ['rev-parse', 'HEAD']).trim();
    };
    const clone = join(dir, 'clone.git');
    mkdirSync(clone);
    const tipRepo = join(clone, 'gitbus-archive-tip.git');
    // What shallowTipSource reads of a node's repository: its clone's folder, its transport, and an object test.
    const repo = { gitdir: clone, transport: new LocalTransport(remote), hasObject: async () => false } as unknown as Parameters<typeof shallowTipSource>[0];
    const count = () => {
      const c = gitCli(['--git-dir', tipRepo, 'count-objects', '-v']);
      return { loose: Number(/^count: (\d+)/m.exec(c)?.[1]), packed: Number(/^in-pack: (\d+)/m.exec(c)?.[1]), packs: Number(/^packs: (\d+)/m.exec(c)?.[1]) };
    };
    const total = () => (existsSync(tipRepo) ? count().loose + count().packed : 0);
    /** A lookup of `tip`: the objects it added. */
    const lookUp = async (tip: string): Promise<number> => {
      const before = total();
      (await shallowTipSource(repo, tip)).close();
      return total() - before;
    };
    return { run, lookUp, count, clone, tipRepo };
  };

  it('over git upload-pack on an archive of 400 tasks: each lookup after an archive run fetches the few objects it adds, before a prune and after it', async () => {
    const a = plainArchive('plain');
    expect(await a.lookUp(a.run(400))).toBeGreaterThan(1000);
    // Five tasks more: their folders, their files, the shards and the root on their way, the commit (23 objects);
    // at depth 1 the remote sent the whole tip again (1,258).
    expect(await a.lookUp(a.run(5))).toBe(23);
    for (let i = 0; i < 2; i++) {
      age(a.tipRepo);
      expect((await pruneArchiveTip(a.clone, { graceMs: HOUR }))?.skipped).toBeUndefined();
      expect(await a.lookUp(a.run(5))).toBeLessThan(40);
    }
  });

  it('packs the loose objects the tip reaches once they are REPACK_LOOSE or more: a file (a disk block) each no more', async () => {
    const a = plainArchive('loose');
    await a.lookUp(a.run(300));
    expect(a.count()).toMatchObject({ packs: 0 });
    expect(a.count().loose).toBeLessThan(REPACK_LOOSE);
    age(a.tipRepo);
    expect((await pruneArchiveTip(a.clone, { graceMs: HOUR }))?.repacked).toBeUndefined();
    await a.lookUp(a.run(40));
    age(a.tipRepo);
    expect(a.count().loose).toBeGreaterThanOrEqual(REPACK_LOOSE);
    expect((await pruneArchiveTip(a.clone, { graceMs: HOUR }))?.repacked).toBe(0);
    expect(a.count()).toMatchObject({ loose: 0, packs: 1 });
    gitCli(['--git-dir', a.tipRepo, 'fsck', '--no-dangling', '--no-progress']);
  });

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
