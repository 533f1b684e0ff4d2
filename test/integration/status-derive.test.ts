import { existsSync, mkdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBus } from '../../bus/context.js';
import { snapshotOrLast } from '../../bus/ops/query.js';
import { busStatus, busStatusJson } from '../../bus/ops/status.js';
import type { StatusTask } from '../../bus/ops/status-core.js';
import { derivedCore } from '../../bus/ops/status-derive.js';
import { firstPerState } from '../../bus/ops/status-core.js';
import { bytesOf, encodeStatusDigest, openStatusDigest, type SummaryLine } from '../../bus/ops/status-digest-file.js';
import { loadDigestBase, loadStatusDigest, loadStatusPayload } from '../../bus/ops/status-digest.js';
import { BUILD_ID } from '../../bus/store/parse-cache.js';
import { MAIN } from '../../bus/repo.js';
import { makeBus } from '../helpers/bus.js';
import { gitbus, gitCli } from '../helpers/cli.js';
import { commitAndPush } from '../helpers/work-clone.js';
import { cancelInProcess, claimAndRespond, claimInProcess, dispatchTask, respondInProcess } from '../helpers/in-process.js';

/**
 * A status of a commit with no digest derives its own from an earlier commit's (bus/ops/status-derive.ts): only the
 * tasks whose files changed, and those waiting on them, are worked out again. What it writes must be what a status
 * worked out in full writes, after every kind of change a bus sees, each derivation starting from the last.
 */
describe('status derived from an earlier commit', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let work: string;
  let ops: string;
  const alpha = () => bus.home('alpha');
  const beta = () => bus.home('beta');

  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha' });
    await bus.addNode('beta');
    ops = await bus.addNode('gamma');
    work = join(bus.dir, 'work');
    gitCli(['clone', '-q', bus.remote, work]);
    mkdirSync(join(work, 'handoffs'), { recursive: true });
    // More than DIGEST_MIN_TASKS, of every state and with problems, some waiting on others.
    for (let i = 0; i < 60; i++) writeFileSync(join(work, 'handoffs', `p-${String(i).padStart(2, '0')}.md`), `---\ntitle: pool ${i}\npriority: ${i % 3}\ncommand: "true"\n---\n## Task\n\nwork ${i}\n`);
    const more: Record<string, string> = {
      'bad-yaml': 'title: [unclosed',
      'bad-field': 'title: odd\npriority: high\nsurprise: 1',
      'newer-protocol': 'protocol: 9\ntitle: from the future',
      scheduled: 'title: nightly\nschedule: "0 3 * * *"\ncommand: make nightly',
      'after-01': 'title: after p-01\nafter: [p-01]\ncommand: "true"',
      'after-02': 'title: after p-02 and p-01\nafter: [p-02, p-01]\ncommand: "true"',
      'after-gone': 'title: after a task never seen\nafter: [never-seen]\ncommand: "true"',
      'after-archived': 'title: after p-05, archived later\nafter: [p-05]\ncommand: "true"',
      project: 'title: in a repo\nrepo: /srv/app.git\nbranch: feature/x\ngroup: g-1\ncommand: make test',
      warned: 'title: warned\ncommand: "true"\nsurprise: 1',
      // No node can take these: each summary says why (noTaker), which the cards decide.
      'needs-gpu': 'title: needs a gpu\nlabels: [gpu]\ncommand: "true"',
      'to-ghost': 'title: for a node not on the bus\nto: ghost\ncommand: "true"',
    };
    for (const [id, front] of Object.entries(more)) writeFileSync(join(work, 'handoffs', `${id}.md`), `---\n${front}\n---\n## Task\n\n${id}\n`);
    commitWork('pool');
    await claimAndRespond(ops, 'p-05', { status: 'succeeded' });
    // The first digest, worked out in full: every later one on alpha is derived from the one before.
    await fullStatus(alpha());
  });
  afterAll(async () => bus?.cleanup());

  const commitWork = (message: string) => commitAndPush(work, message);
  /** Derivations that wrote a full digest: deltas are written until too many tasks are not their base's. */
  let fullDigests = 0;
  /** Derivations that never built the whole index (the lean one answered: bus/model/lean-index.ts). */
  let lean = 0;
  /** `status --json` runs that wrote a digest's summaries payload (bus/ops/status-tasks-json.ts). */
  let fromPayload = 0;

  async function busStatusOf(home: string) {
    rmSync(join(home, 'clone.git', 'gitbus-cache', 'status'), { recursive: true, force: true });
    const ctx = await openBus(home);
    try {
      return await busStatus(ctx, {});
    } finally {
      await ctx.repo.close();
    }
  }

  async function fullStatus(home: string): Promise<string> {
    rmSync(join(home, 'clone.git', 'gitbus-cache', 'status'), { recursive: true, force: true });
    const ctx = await openBus(home);
    try {
      const s = await busStatus(ctx, { perState: 50 });
      return s.head as string;
    } finally {
      await ctx.repo.close();
    }
  }

  /** The digest `home` wrote for `commit` (full, or a delta on an earlier one), in a form two nodes' digests of one commit compare in. */
  function digestOf(home: string, commit: string) {
    const gitdir = join(home, 'clone.git');
    const loaded = loadStatusDigest(gitdir, commit, true);
    const base = loadDigestBase(gitdir, commit);
    expect(loaded && base, `${home}: digest of ${commit}`).toBeTruthy();
    const { digest, all } = loaded as NonNullable<typeof loaded>;
    const { entries, deps, taskProblems } = base as NonNullable<typeof base>;
    const byId = <T extends [string, ...unknown[]]>(list: T[]) => [...list].sort((a, b) => (a[0] < b[0] ? -1 : 1));
    return { ...digest, holders: byId(digest.holders), external: { asked: [...digest.external.asked].sort(), found: byId(digest.external.found) }, all, order: entries.map((e) => e.row), deps: byId(deps), taskProblems };
  }

  /** alpha derives the status of main after `change` (or, `derives` false, finds it cannot); beta works it out in full. */
  async function after(change: () => Promise<unknown>, derives = true) {
    await change();
    const ctx = await openBus(alpha());
    let head: string;
    let core;
    try {
      head = (await ctx.repo.sync(MAIN)) as string;
      const { snap } = await snapshotOrLast(ctx, head);
      const derived = await derivedCore(ctx, snap, 50);
      // Still lean after the derivation: nothing in it read every task's files.
      if (derived && snap.useLean()) lean++;
      if (derives) {
        expect(derived && 'core' in derived, 'derived').toBe(true);
        core = derived && 'core' in derived ? derived.core : undefined;
      } else {
        expect(derived).toBeNull();
        await busStatus(ctx, { perState: 50 });
      }
    } finally {
      await ctx.repo.close();
    }
    expect(await fullStatus(beta())).toBe(head);
    const full = digestOf(beta(), head);
    expect(digestOf(alpha(), head)).toEqual(full);
    // `status --json` on alpha writes the summaries of the digest it derived as they are: every task as beta lists
    // it, worked out in full.
    const gitdir = join(alpha(), 'clone.git');
    if (loadStatusPayload(gitdir, head)) fromPayload++;
    const ctxA = await openBus(alpha());
    let tasksJson: Buffer;
    try {
      tasksJson = Buffer.concat((await busStatusJson(ctxA)).tasksJson);
    } finally {
      await ctxA.repo.close();
    }
    const listed = JSON.parse(tasksJson.toString('utf8')) as StatusTask[];
    expect(listed).toEqual((await busStatusOf(beta())).tasks);
    expect(listed.filter((t) => t.noTaker).map((t) => t.id)).toEqual(expect.arrayContaining(['needs-gpu', 'to-ghost']));
    if (core) {
      // What status lists: the first 50 of each state, some of them moved up from beyond an earlier digest's first 50.
      expect(core.tasks).toEqual(firstPerState(full.all ?? [], 50));
      expect(core.problems).toEqual(full.problems);
    }
    // A derivation that wrote a full digest (too many tasks not its base's for a delta) wrote what beta wrote.
    const spare = (home: string) => {
      const path = join(home, 'clone.git', 'gitbus-cache', 'status', `${head}.digest`);
      const f = existsSync(path) ? openStatusDigest(bytesOf(readFileSync(path)), BUILD_ID, head) : null;
      return f?.kind === 'full' ? f.facts()?.spare : undefined;
    };
    if (spare(alpha())) {
      fullDigests++;
      expect(spare(alpha())).toEqual(spare(beta()));
    }
    return full;
  }

  it('says what a full status says after dispatches, claims, results, cancels and dependencies met or doomed', async () => {
    await after(() => dispatchTask(ops, { title: 'one more', command: 'true' }));
    const waits = await after(() => dispatchTask(ops, { id: 'waits-on-03', title: 'after p-03', command: 'true', after: ['p-03'] }));
    expect(waits.all?.find((t) => t.id === 'waits-on-03')).toMatchObject({ state: 'blocked' });
    await after(() => claimInProcess(ops, 'p-01'));
    const met = await after(() => respondInProcess(ops, 'p-01', { status: 'succeeded' }));
    expect(met.all?.find((t) => t.id === 'after-01')).toMatchObject({ state: 'pending', waitingFor: [] });
    const doomed = await after(() => claimAndRespond(ops, 'p-02', { status: 'failed', reason: 'no' }));
    expect(doomed.all?.find((t) => t.id === 'after-02')?.waitingOn).toEqual(expect.arrayContaining([{ id: 'p-02', state: 'failed' }]));
    await after(() => cancelInProcess(ops, 'p-03'));
    await after(async () => undefined);
    // Every one of these clones' folders is a loose tree read by its bytes, and every handoff name is an id's.
    expect(lean).toBe(7);
    expect(fromPayload).toBe(7);
  });

  it('says what a full status says after hand-written changes: a bad file, a stray name, an edit that moves a task in the queue, a handoff removed under its claim', async () => {
    await after(async () => {
      writeFileSync(join(work, 'handoffs', 'new-bad.md'), '---\ntitle: [unclosed\n---\n');
      writeFileSync(join(work, 'handoffs', 'notes.txt'), 'not a bus file\n');
      commitWork('bad files');
    });
    const moved = await after(async () => {
      writeFileSync(join(work, 'handoffs', 'p-59.md'), '---\ntitle: pool 59, now urgent\npriority: 9\ncommand: "true"\n---\n');
      commitWork('edit');
    });
    expect(moved.all?.[0]).toMatchObject({ id: 'p-59', priority: 9 });
    await after(() => claimInProcess(ops, 'p-10'));
    await after(async () => {
      unlinkSync(join(work, 'handoffs', 'p-10.md'));
      commitWork('remove a claimed handoff');
    });
  });

  it('says a problem of a file once, in a process that parsed the same bytes under another name before', async () => {
    // Two paths with one blob share an entry of the parse cache in memory: a task's view kept from an earlier
    // commit held the other parse, and its delivery's problem was said twice (problems were told apart by identity).
    const deliveryProblems = (d: { problems: { path: string }[] }) => d.problems.filter((p) => p.path === 'deliveries/p-11.1.md').length;
    const first = await after(async () => {
      mkdirSync(join(work, 'deliveries'), { recursive: true });
      mkdirSync(join(work, 'cancels'), { recursive: true });
      writeFileSync(join(work, 'deliveries', 'p-11.1.md'), '---\nbad: [\n---\n');
      writeFileSync(join(work, 'cancels', 'p-12.md'), '---\nbad: [\n---\n');
      commitWork('the same bad bytes under two names');
    });
    expect(deliveryProblems(first)).toBe(1);
    const later = await after(() => dispatchTask(ops, { title: 'unrelated', command: 'true' }));
    expect(deliveryProblems(later)).toBe(1);
  });

  it('says what a full status says after an archive run and a new node; works it out in full when the settings change or much changed', async () => {
    const archived = await after(() => gitbus(['archive', '--all'], { home: ops }));
    expect(archived.all?.find((t) => t.id === 'p-05')).toBeUndefined();
    expect(archived.all?.find((t) => t.id === 'after-archived')).toMatchObject({ state: 'pending', waitingFor: [] });
    expect(archived.external.found).toEqual(expect.arrayContaining([['p-05', 'succeeded']]));
    await after(() => bus.addNode('delta'));
    await after(async () => {
      // maxAttempts decides which pending tasks are exhausted: every summary may change.
      writeFileSync(join(work, 'gitbus.yaml'), readFileSync(join(work, 'gitbus.yaml'), 'utf8').replace(/^maxAttempts: .*$/m, 'maxAttempts: 7'));
      commitWork('settings');
    }, false);
    await after(async () => {
      for (let i = 0; i < 40; i++) writeFileSync(join(work, 'handoffs', `bulk-${i}.md`), `---\ntitle: bulk ${i}\ncommand: "true"\n---\n`);
      commitWork('bulk');
    }, false);
    await after(() => dispatchTask(ops, { title: 'and one after', command: 'true' }));
    expect(fullDigests).toBeGreaterThan(0);
  });

  it('works the status out in full, fetching nothing, when the digest it would derive from is of a commit the clone lacks', async () => {
    const ctx = await openBus(alpha());
    try {
      const head = (await busStatus(ctx, {})).head as string;
      const dir = join(alpha(), 'clone.git', 'gitbus-cache', 'status');
      const base = loadDigestBase(join(alpha(), 'clone.git'), head);
      const lines = base?.entries.map((e) => e.line ?? base.rootLines()?.[e.root as number]) as SummaryLine[];
      expect(base && lines.every((l) => l !== undefined)).toBe(true);
      const { digest, remote, entries, deps, taskProblems } = base as NonNullable<typeof base>;
      const gone = 'e'.repeat(40);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `${gone}.digest`), encodeStatusDigest(BUILD_ID, { ...digest, commit: gone }, lines, { remote, order: entries.map((e) => e.row), deps, taskProblems, spare: [] }));
      await dispatchTask(ops, { title: 'after a digest of a commit nobody has', command: 'true' });
      const { snap } = await snapshotOrLast(ctx, (await ctx.repo.sync(MAIN)) as string);
      // Counted, not replaced: a repair walks the clone and asks the remote.
      let repairs = 0;
      const repair = ctx.repo.store.repair;
      ctx.repo.store.repair = async (oid, damage) => {
        repairs++;
        await repair?.(oid, damage);
      };
      expect(await derivedCore(ctx, snap, undefined)).toBeNull();
      expect(repairs).toBe(0);
    } finally {
      await ctx.repo.close();
    }
  });

  it('says what a full status says of a hand-made root that names a live folder twice, or a file where it is', async () => {
    /** A commit whose root is main's with `extra` entries first (git mktree keeps a name twice, in the order given). */
    const pushRootWith = (extra: string[]) => {
      gitCli(['pull', '-q', '--rebase', 'origin', 'main'], work);
      const lines = gitCli(['ls-tree', 'HEAD'], work).trim().split('\n');
      const tree = gitCli(['mktree'], work, `${[...extra, ...lines].join('\n')}\n`).trim();
      const commit = gitCli(['commit-tree', tree, '-p', 'HEAD', '-m', 'hand-made'], work).trim();
      gitCli(['push', '-q', 'origin', `${commit}:refs/heads/main`], work);
    };
    const ctx = await openBus(alpha());
    try {
      // The earlier digest is of a commit whose handoffs folder is the one the next commits keep, second.
      await busStatus(ctx, {});
      const derivedAndFull = async () => {
        const { snap } = await snapshotOrLast(ctx, (await ctx.repo.sync(MAIN)) as string);
        const derived = await derivedCore(ctx, snap, undefined);
        const full = await busStatusOf(beta());
        expect(derived && 'core' in derived ? { tasks: derived.core.tasks, counts: derived.core.counts, problems: derived.core.problems } : derived).toEqual({ tasks: full.tasks, counts: full.counts, problems: full.problems });
        return full;
      };
      // A file named handoffs before the folder: a snapshot reads the first entry of a name, so no task is live.
      const blob = gitCli(['hash-object', '-w', '--stdin'], work, 'not a folder\n').trim();
      pushRootWith([`100644 blob ${blob}\thandoffs`]);
      expect((await derivedAndFull()).tasks).toEqual([]);
      // Another folder named handoffs before it: its entries are what is live (here the claims folder's).
      const claims = gitCli(['rev-parse', 'HEAD:claims'], work).trim();
      pushRootWith([`040000 tree ${claims}\thandoffs`]);
      const other = await derivedAndFull();
      expect(other.problems.length).toBeGreaterThan(0);
      expect(other.tasks.length).toBeLessThan(10);
    } finally {
      await ctx.repo.close();
    }
  });
});
