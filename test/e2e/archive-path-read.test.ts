import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { BIN, gitbus, gitCli, json } from '../helpers/cli.js';
import { bounded, until } from '../helpers/wait.js';
import { makeBus } from '../helpers/bus.js';
import { claimAndRespond } from '../helpers/in-process.js';
import { startGitHttpServer, type GitHttpServer } from '../helpers/git-http-server.js';

/**
 * Reading one archived task reads its path, not the archive branch (issue 14 point 4, docs/PROTOCOL.md §7): a node
 * that never read the archive fetches the commit, the root, the `ids` tree, one shard and the task's folders, over
 * a local remote and over HTTP (through git's services on a local remote: one git upload-archive exchange that
 * brings only the task's folders, or the path where the host does not run it); dependencies on archived tasks still resolve, a forged archived end (index entry
 * and all) still counts for nothing on a pinned node, an archive written without the index is found by the month
 * scan and indexed by `archive --reindex`, and a server that allows neither filters nor any-object wants gets a
 * shallow fetch of the archive's tip, never its history.
 */
const NO_GIT_KEY = { GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' };
let bus: Awaited<ReturnType<typeof makeBus>>;
let boss: string;
let w: string;
let keys: string;
let server: GitHttpServer;
const key = (name: string) => join(keys, name);
const fp = (name: string) => execFileSync('ssh-keygen', ['-lf', `${key(name)}.pub`], { encoding: 'utf8' }).split(' ')[1] ?? '';
const shard = (id: string) => createHash('sha1').update(id).digest('hex').slice(0, 2);
const done: string[] = [];
let firstArchive = '';
let month = '';
const FAKE = '20260101-000000-forged';

async function ok(args: string[], home: string, env: NodeJS.ProcessEnv = {}) {
  const r = await gitbus([...args, '--json'], { home, env: { ...process.env, ...NO_GIT_KEY, ...env } });
  expect(r.code, `${args.join(' ')}: ${r.stderr}${r.stdout}`).toBe(0);
  return r;
}

/**
 * A task boss dispatched (signed with alice's key, through the CLI) and w ran: w's claim and response are made in
 * the test's process (test/helpers/in-process.ts), fixtures for the archive these tests read.
 */
async function finishedTask(title: string): Promise<string> {
  const id = json<{ id: string }>(await ok(['dispatch', title, '--command', 'true', '--to', 'w', '--no-git'], boss)).id;
  await claimAndRespond(w, id, { status: 'succeeded', summary: title });
  return id;
}

const objectsOf = (gitdir: string) => new Set(gitCli(['--git-dir', gitdir, 'cat-file', '--batch-all-objects', '--batch-check=%(objectname)']).split('\n').filter(Boolean));
const revParse = (rev: string) => gitCli(['--git-dir', bus.remote, 'rev-parse', rev]).trim();
const treeObjects = (rev: string) => gitCli(['--git-dir', bus.remote, 'ls-tree', '-r', '-t', rev]).split('\n').filter(Boolean).map((l) => l.split(/\s+/)[2] ?? '');

/** The archive's objects a clone holds, less those of main's tip (which every clone has). */
function archiveObjectsIn(clone: string): Set<string> {
  const archive = new Set(gitCli(['--git-dir', bus.remote, 'rev-list', '--objects', 'archive']).split('\n').map((l) => l.split(' ')[0] ?? '').filter(Boolean));
  const main = new Set([revParse('main'), revParse('main^{tree}'), ...treeObjects('main')]);
  return new Set([...objectsOf(clone)].filter((o) => archive.has(o) && !main.has(o)));
}

/** The objects on the path to one task in the archive's tip: commit, root, ids, shard, task and signature folders. */
function pathObjects(id: string): Set<string> {
  const base = `archive:ids/${shard(id)}/${id}.${month}`;
  return new Set([revParse('archive'), revParse('archive^{tree}'), revParse('archive:ids'), revParse(`archive:ids/${shard(id)}`), revParse(base), revParse(`${base}.sig`), ...treeObjects(base), ...treeObjects(`${base}.sig`)]);
}

/** A task's folder and signature folder in the archive's index, with their files. */
function folderObjects(id: string): Set<string> {
  const base = `archive:ids/${shard(id)}/${id}.${month}`;
  return new Set([revParse(base), revParse(`${base}.sig`), ...treeObjects(base), ...treeObjects(`${base}.sig`)]);
}

beforeAll(async () => {
  bus = await makeBus({ node: 'boss' });
  boss = bus.home('boss');
  keys = join(bus.dir, 'keys');
  mkdirSync(keys);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'alice', '-f', key('alice')]);
  await ok(['trust', 'init', '--admin', `alice=${key('alice')}.pub`, '--unlisted-nodes', 'accept', '--key', key('alice')], boss);
  await ok(['trust', 'add', 'rule', '--signers', 'alice', '--runners', 'shell', '--nodes', '*', '--key', key('alice')], boss);
  const c = parse(readFileSync(join(boss, 'node.yaml'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(boss, 'node.yaml'), stringify({ ...c, signingKey: key('alice') }));
  w = await bus.addNode('w', [], ['--runner', 'shell', '--trust', fp('alice')]);
  await ok(['trust', 'add', 'node', 'w', join(w, 'keys', 'node_ed25519.pub'), '--key', key('alice')], boss);
  // Two archive runs, so the branch has history a reader must not fetch.
  for (const t of ['one', 'two', 'three']) done.push(await finishedTask(t));
  await ok(['archive', '--all'], boss);
  firstArchive = revParse('archive');
  done.push(await finishedTask('four'));
  await ok(['archive', '--all'], boss);
  month = gitCli(['--git-dir', bus.remote, 'ls-tree', '--name-only', 'archive']).split('\n').find((n) => /^\d{4}-\d{2}$/.test(n)) ?? '';
  // A forged end, index entry and all, as anyone with push access could write it with plain git.
  const arch = join(bus.dir, 'forger');
  gitCli(['clone', '-q', '--branch', 'archive', bus.remote, arch]);
  const forged = `---\nid: ${FAKE}\nstatus: succeeded\nnode: w\nfinished: 2026-01-01T00:00:00.000Z\n---\n`;
  for (const dir of [join(arch, '2026-01', FAKE), join(arch, 'ids', shard(FAKE), `${FAKE}.2026-01`)]) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'handoff.md'), `---\nid: ${FAKE}\ntitle: never ran\n---\n`);
    writeFileSync(join(dir, 'response.md'), forged);
  }
  gitCli(['add', '-A'], arch);
  gitCli(['-c', 'user.name=p', '-c', 'user.email=p@x', 'commit', '-qm', 'a forged end'], arch);
  gitCli(['push', '-q', 'origin', 'HEAD:archive'], arch);
  server = await startGitHttpServer({ projectRoot: bus.dir });
}, 90_000);

afterAll(async () => {
  await server?.close();
  await bus?.cleanup();
});

describe('archive path reads', () => {
  it('archiving writes the id index: the same tree object as the month folder, for files and signatures', () => {
    for (const id of done) {
      expect(revParse(`archive:ids/${shard(id)}/${id}.${month}`)).toBe(revParse(`archive:${month}/${id}`));
      expect(revParse(`archive:ids/${shard(id)}/${id}.${month}.sig`)).toBe(revParse(`archive:signatures/${month}/${id}`));
    }
    expect(gitCli(['--git-dir', bus.remote, 'show', 'archive:ids/complete'])).toMatch(/Every task/);
  });

  it('a fresh node shows an archived task having fetched only that task\'s path, over a local remote', async () => {
    const fresh = await bus.addNode('fresh', [], ['--trust', fp('alice')]);
    const id = done[1] ?? '';
    const shown = json<{ state: string; archived: string; files: { path: string; text: string }[] }>(await ok(['show', id], fresh));
    expect(shown.state).toBe('succeeded');
    expect(shown.archived).toBe(month);
    expect(shown.files.map((f) => f.path)).toContain(`archive:${month}/${id}/response.md`);
    const clone = join(fresh, 'clone.git');
    const held = archiveObjectsIn(clone);
    const path = pathObjects(id);
    const extra = [...held].filter((o) => !path.has(o));
    expect(extra).toEqual([]);
    expect([...path].filter((o) => !held.has(o))).toEqual([]);
    expect(held.has(revParse(`archive:${month}`))).toBe(false);
    expect(objectsOf(clone).has(firstArchive)).toBe(false);
    expect(gitCli(['--git-dir', clone, 'for-each-ref', 'refs/heads/archive']).trim()).toBe('');
    // A second lookup reuses what the first fetched.
    expect(json<{ state: string }>(await ok(['show', id], fresh)).state).toBe('succeeded');
    expect(archiveObjectsIn(clone).size).toBe(held.size);
    // Through git's services (no direct access): one git upload-archive exchange brings the task's two folders and
    // their files, rebuilt as git's own objects, and none of the trees above them; the lookup is remembered.
    const viaPack = bus.home('via-pack');
    await ok(['join', bus.remote, '--node', 'via-pack', '--trust', fp('alice')], viaPack, { GITBUS_DIRECT: '0' });
    const viaShown = json<{ state: string; files: { path: string; text: string }[] }>(await ok(['show', id], viaPack, { GITBUS_DIRECT: '0' }));
    expect(viaShown.state).toBe('succeeded');
    expect(viaShown.files).toEqual(shown.files);
    const viaClone = join(viaPack, 'clone.git');
    expect(archiveObjectsIn(viaClone)).toEqual(folderObjects(id));
    expect(readFileSync(join(viaClone, 'gitbus-archive-found'), 'utf8')).toContain(`${id} ${month} ${revParse(`archive:ids/${shard(id)}/${id}.${month}`)}`);
    // Where the remote does not run git-upload-archive (as GitHub): the path, as above.
    const viaPath = bus.home('via-path');
    await ok(['join', bus.remote, '--node', 'via-path', '--trust', fp('alice')], viaPath, { GITBUS_DIRECT: '0' });
    writeFileSync(join(viaPath, 'clone.git', 'gitbus-archive-upload-archive'), 'refused\n');
    expect(json<{ state: string }>(await ok(['show', id], viaPath, { GITBUS_DIRECT: '0' })).state).toBe('succeeded');
    expect(archiveObjectsIn(join(viaPath, 'clone.git'))).toEqual(held);
  });

  it('a pinned node claims a task that waits on an archived one, and a forged archived end in the index blocks', async () => {
    const real = json<{ id: string }>(await ok(['dispatch', 'after real', '--command', 'true', '--to', 'w', '--after', done[0] ?? '', '--no-git'], boss)).id;
    const fake = json<{ id: string }>(await ok(['dispatch', 'after forged', '--command', 'true', '--to', 'w', '--after', FAKE, '--no-git', '--priority', '9'], boss)).id;
    const st = json<{ tasks: { id: string; state: string; waitingOn?: { id: string; state: string }[] }[] }>(await ok(['status'], w));
    expect(st.tasks.find((t) => t.id === fake)?.waitingOn).toEqual([{ id: FAKE, state: 'unknown' }]);
    expect(st.tasks.find((t) => t.id === real)?.state).toBe('pending');
    // The same through git's services, where upload-archive rebuilds the forged folder: it still counts for nothing.
    const viaPack = json<typeof st>(await ok(['status'], bus.home('via-pack'), { GITBUS_DIRECT: '0' }));
    expect(viaPack.tasks.find((t) => t.id === fake)?.waitingOn).toEqual([{ id: FAKE, state: 'unknown' }]);
    expect(viaPack.tasks.find((t) => t.id === real)?.state).toBe('pending');
    expect(readFileSync(join(bus.home('via-pack'), 'clone.git', 'gitbus-archive-found'), 'utf8')).toContain(FAKE);
    const claimed = json<{ id: string }>(await ok(['claim', '--next'], w));
    expect(claimed.id).toBe(real);
    // Only paths: the pinned node read the shard and the two tasks' folders, not the month folder.
    expect(archiveObjectsIn(join(w, 'clone.git')).has(revParse(`archive:${month}`))).toBe(false);
  });

  it('finds a task over HTTP by its path, and falls back to the tip alone where the server allows no path reads', async () => {
    const url = `${server.url}/remote.git`;
    const id = done[3] ?? '';
    const h1 = bus.home('h1');
    await ok(['join', url, '--node', 'h1', '--trust', fp('alice')], h1);
    expect(json<{ state: string }>(await ok(['show', id], h1)).state).toBe('succeeded');
    const held = archiveObjectsIn(join(h1, 'clone.git'));
    expect([...held].filter((o) => !pathObjects(id).has(o))).toEqual([]);

    // The same server with the options a bus created by gitbus init has, removed.
    gitCli(['--git-dir', bus.remote, 'config', '--unset', 'uploadpack.allowFilter']);
    gitCli(['--git-dir', bus.remote, 'config', '--unset', 'uploadpack.allowAnySHA1InWant']);
    const h2 = bus.home('h2');
    await ok(['join', url, '--node', 'h2', '--trust', fp('alice')], h2);
    const check = json<{ checks: { name: string; status: string; detail: string; fix: string | null }[] }>(await gitbus(['doctor', '--json'], { home: h2 })).checks.find((c) => c.name === 'remote.archive-reads');
    expect(check?.status).toBe('warn');
    expect(check?.fix).toMatch(/uploadpack.allowFilter/);
    expect(check?.detail).toContain('does not run git upload-archive');
    expect(json<{ state: string }>(await ok(['show', id], h2)).state).toBe('succeeded');
    // The tip alone, in a repository of its own inside the clone; the clone itself gets only the task's path.
    const clone = join(h2, 'clone.git');
    const tip = join(clone, 'gitbus-archive-tip.git');
    expect(gitCli(['--git-dir', tip, 'rev-parse', 'refs/heads/archive']).trim()).toBe(revParse('archive'));
    expect(readFileSync(join(tip, 'shallow'), 'utf8')).toContain(revParse('archive'));
    expect(objectsOf(tip).has(firstArchive)).toBe(false);
    expect(objectsOf(clone).has(firstArchive)).toBe(false);
    expect([...archiveObjectsIn(clone)].filter((o) => !pathObjects(id).has(o))).toEqual([]);
    expect(existsSync(join(clone, 'gitbus-archive-path-reads'))).toBe(true);
  });

  it('an archive written without the index is searched by month, and archive --reindex indexes it', async () => {
    // An older gitbus: month folders and signatures only (the branch rewritten with plain git, as one would be).
    const old = join(bus.dir, 'old-writer');
    gitCli(['clone', '-q', '--branch', 'archive', bus.remote, old]);
    gitCli(['rm', '-rq', 'ids'], old);
    gitCli(['-c', 'user.name=p', '-c', 'user.email=p@x', 'commit', '-qm', 'an archive before the index'], old);
    gitCli(['push', '-q', '-f', 'origin', 'HEAD:archive'], old);
    const id = done[2] ?? '';
    const o1 = await bus.addNode('o1', [], ['--trust', fp('alice')]);
    const shown = json<{ state: string; archived: string }>(await ok(['show', id], o1));
    expect(shown).toMatchObject({ state: 'succeeded', archived: month });
    const r = json<{ indexed: number; commit: string | null; noteCommit: string | null }>(await ok(['archive', '--reindex'], boss));
    expect(r.indexed).toBe(done.length + 1);
    // The shards moved: main's note names the reindexed archive, in a commit of its own.
    expect(r.noteCommit).toBe(revParse('main'));
    expect(gitCli(['--git-dir', bus.remote, 'show', 'main:archive-shards'])).toContain(`archive ${revParse('archive')}\n`);
    expect(revParse(`archive:ids/${shard(id)}/${id}.${month}`)).toBe(revParse(`archive:${month}/${id}`));
    expect(revParse(`archive:ids/${shard(id)}/${id}.${month}.sig`)).toBe(revParse(`archive:signatures/${month}/${id}`));
    expect(json<{ indexed: number; commit: string | null }>(await ok(['archive', '--reindex'], boss)).commit).toBeNull();
    // An index entry that does not hold its task (a file written there by hand, a folder of another task): status
    // and claim --next would find no task by it; reindex puts the task's folder back.
    const other = done[1] ?? '';
    gitCli(['pull', '-q', '--ff-only', 'origin', 'archive'], old);
    const entry = `ids/${shard(id)}/${id}.${month}`;
    const otherEntry = `ids/${shard(other)}/${other}.${month}`;
    gitCli(['rm', '-rq', otherEntry], old);
    cpSync(join(old, entry), join(old, otherEntry), { recursive: true });
    gitCli(['rm', '-rq', entry], old);
    mkdirSync(join(old, entry, '..'), { recursive: true });
    writeFileSync(join(old, entry), 'not a folder\n');
    gitCli(['add', entry, otherEntry], old);
    gitCli(['-c', 'user.name=p', '-c', 'user.email=p@x', 'commit', '-qm', 'damage two index entries'], old);
    gitCli(['push', '-q', 'origin', 'HEAD:archive'], old);
    const fixed = json<{ indexed: number; repaired: number; commit: string | null }>(await ok(['archive', '--reindex'], boss));
    expect([fixed.indexed, fixed.repaired]).toEqual([0, 2]);
    expect(revParse(`archive:${entry}`)).toBe(revParse(`archive:${month}/${id}`));
    expect(revParse(`archive:ids/${shard(other)}/${other}.${month}`)).toBe(revParse(`archive:${month}/${other}`));
    const o2 = await bus.addNode('o2', [], ['--trust', fp('alice')]);
    expect(json<{ state: string }>(await ok(['show', id], o2)).state).toBe('succeeded');
    expect(archiveObjectsIn(join(o2, 'clone.git')).has(revParse(`archive:${month}`))).toBe(false);
  });

  it('main says where the shards are: a node of a host without upload-archive reads the shard and the folders, not the root or ids', async () => {
    // The archive's tip above is a hand-made commit, which main's note does not name: an archive run writes it anew.
    done.push(await finishedTask('five'));
    await ok(['archive', '--all'], boss);
    const note = gitCli(['--git-dir', bus.remote, 'show', 'main:archive-shards']);
    expect(note).toContain(`archive ${revParse('archive')}\ncomplete\n`);
    const id = done[0] ?? '';
    expect(note).toContain(`${shard(id)} ${revParse(`archive:ids/${shard(id)}`)}`);
    // A node that reads through git's services from a host that does not run git-upload-archive (GitHub, smart HTTP).
    const fresh = async (name: string) => {
      const home = bus.home(name);
      await ok(['join', bus.remote, '--node', name, '--trust', fp('alice')], home, { GITBUS_DIRECT: '0' });
      writeFileSync(join(home, 'clone.git', 'gitbus-archive-upload-archive'), 'refused\n');
      return home;
    };
    const n1 = await fresh('n1');
    expect(json<{ state: string; archived: string }>(await ok(['show', id], n1, { GITBUS_DIRECT: '0' }))).toMatchObject({ state: 'succeeded', archived: month });
    expect(archiveObjectsIn(join(n1, 'clone.git'))).toEqual(new Set([revParse(`archive:ids/${shard(id)}`), ...folderObjects(id)]));

    // A note naming trees the remote does not have (a hand edit): the lookup reads the path from the root, as
    // without one, and does not take the host for one that refuses path reads.
    const edit = join(bus.dir, 'note-editor');
    gitCli(['clone', '-q', '--branch', 'main', bus.remote, edit]);
    writeFileSync(join(edit, 'archive-shards'), note.replace(/^([0-9a-f]{2}) [0-9a-f]{40}$/gm, `$1 ${'0'.repeat(40)}`));
    gitCli(['-c', 'user.name=p', '-c', 'user.email=p@x', 'commit', '-qam', 'a wrong note'], edit);
    gitCli(['push', '-q', 'origin', 'HEAD:main'], edit);
    const n2 = await fresh('n2');
    expect(json<{ state: string }>(await ok(['show', id], n2, { GITBUS_DIRECT: '0' })).state).toBe('succeeded');
    expect(archiveObjectsIn(join(n2, 'clone.git'))).toEqual(pathObjects(id));
    const refusal = join(n2, 'clone.git', 'gitbus-archive-path-reads');
    expect(existsSync(refusal), existsSync(refusal) ? readFileSync(refusal, 'utf8') : '').toBe(false);
    // The same from a local remote read directly (git cat-file in the remote).
    const n3 = await bus.addNode('n3', [], ['--trust', fp('alice')]);
    expect(json<{ state: string }>(await ok(['show', id], n3)).state).toBe('succeeded');

    // lint checks the note for what it is (a warning: readers ignore a note that is not the format).
    const lint = async (file: string) => json<{ problems: { path: string; severity: string; fix: string }[] }>(await gitbus(['lint', join(edit, file), '--json'], { home: boss }));
    writeFileSync(join(edit, 'archive-shards'), 'my notes\n');
    expect((await lint('archive-shards')).problems).toMatchObject([{ path: 'archive-shards', severity: 'warning', fix: expect.stringContaining('git rm archive-shards') }]);
    writeFileSync(join(edit, 'archive-shards'), note);
    expect((await lint('archive-shards')).problems).toEqual([]);

    // A folder someone committed at the note's path: archiving goes on and leaves it alone (the note is a hint).
    gitCli(['fetch', '-q', 'origin', 'main'], edit);
    gitCli(['reset', '-q', '--hard', 'origin/main'], edit);
    gitCli(['rm', '-q', 'archive-shards'], edit);
    mkdirSync(join(edit, 'archive-shards'));
    writeFileSync(join(edit, 'archive-shards', 'mine.txt'), 'a folder of someone\'s\n');
    gitCli(['add', 'archive-shards'], edit);
    gitCli(['-c', 'user.name=p', '-c', 'user.email=p@x', 'commit', '-qm', 'a folder where the note goes'], edit);
    gitCli(['push', '-q', 'origin', 'HEAD:main'], edit);
    const six = await finishedTask('six');
    await ok(['archive', '--all'], boss);
    expect(gitCli(['--git-dir', bus.remote, 'ls-tree', '-r', '--name-only', 'main']).split('\n').filter((p) => p.includes(six))).toEqual([]);
    expect(gitCli(['--git-dir', bus.remote, 'show', 'main:archive-shards/mine.txt'])).toContain('a folder');
  });

  it('two archive runs at once: main\'s note names the archive tip both left, not the older run\'s commit', async () => {
    const two = await makeBus({ node: 'a', initArgs: ['--runner', 'shell'] });
    try {
      const a = two.home('a');
      const b = await two.addNode('b', [], ['--runner', 'shell']);
      const ago = (ms: number) => () => new Date(Date.now() - ms);
      const task = async (home: string, title: string, finishedAgo: number) => {
        const id = json<{ id: string }>(await gitbus(['dispatch', title, '--command', 'true', '--no-git', '--json'], { home })).id;
        await claimAndRespond(home, id, { status: 'succeeded', now: ago(finishedAgo) });
        return id;
      };
      const t1 = await task(a, 'ended half an hour ago', 30 * 60_000);
      // a's first push to main waits at the remote (a pre-receive hook) until the test lets it go: a has archived t1
      // and is about to remove it from main when b archives another task.
      writeFileSync(join(two.remote, 'hooks', 'pre-receive'), `#!/bin/sh\nwhile read old new ref; do\n  if [ "$ref" = refs/heads/main ] && [ ! -f HELD ]; then\n    touch HELD\n    i=0; while [ ! -f GO ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done\n  fi\ndone\n`, { mode: 0o755 });
      const first = spawn(process.execPath, [BIN, 'archive', '--older-than', '1m', '--json'], { env: { ...process.env, GITBUS_HOME: a, GITBUS_DIRECT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      first.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const ended = new Promise<number | null>((resolve) => first.once('exit', resolve));
      await until('a held at its push to main', () => existsSync(join(two.remote, 'HELD')), 30_000, () => err);
      const t2 = await task(b, 'ended two hours ago', 2 * 3600_000);
      await ok(['archive', '--older-than', '1h'], b);
      writeFileSync(join(two.remote, 'GO'), '');
      expect(await bounded(ended, 60_000, `a's archive to end\n${err}`), err).toBe(0);
      const onMain = gitCli(['--git-dir', two.remote, 'ls-tree', '-r', '--name-only', 'main']);
      expect(onMain).not.toContain(t1);
      expect(onMain).not.toContain(t2);
      const tip = gitCli(['--git-dir', two.remote, 'rev-parse', 'archive']).trim();
      expect(gitCli(['--git-dir', two.remote, 'show', 'main:archive-shards'])).toContain(`archive ${tip}\n`);
    } finally {
      await two.cleanup();
    }
  }, 120_000);
});
