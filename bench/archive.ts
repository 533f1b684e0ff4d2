import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, createWriteStream, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderBusFile } from '../schemas/bus-file.js';
import { ARCHIVE_SHARDS_PATH, renderArchiveShards } from '../schemas/archive-shards.js';
import { ARCHIVE_INDEX_COMPLETE, ARCHIVE_INDEX_COMPLETE_TEXT, ARCHIVE_INDEX_FOLDER, archiveIndexPathFor } from '../schemas/archive-index.js';
import { openBus } from '../bus/context.js';
import { initBus } from '../bus/ops/init.js';
import { joinBus } from '../bus/ops/join.js';
import { dispatch } from '../bus/ops/dispatch.js';
import { tmp } from './fixtures.js';
import { fmt, row, summarize, type Sample } from './stats.js';

const CLI = fileURLToPath(new URL('../cli/gitbus.mjs', import.meta.url));
const GIT_ENV = { ...process.env, GIT_AUTHOR_NAME: 'bench', GIT_AUTHOR_EMAIL: 'b@x.invalid', GIT_COMMITTER_NAME: 'bench', GIT_COMMITTER_EMAIL: 'b@x.invalid' };

/**
 * Writes an archive branch of `finished` tasks into `remote` with git fast-import, laid out exactly as
 * bus/ops/archive.ts lays it out (docs/PROTOCOL.md §7): `<yyyy-mm>/<id>/{handoff,claim.1,response}.md`, the id
 * index `ids/<hh>/<id>.<yyyy-mm>/` with the same blobs (so the same tree objects), `ids/complete`; one archive
 * commit per `every` tasks (history a reader must not fetch), ten months of tasks. Unsigned, as a bus without a
 * trust root is. Returns the ids.
 */
export async function writeArchive(remote: string, dir: string, finished: number, every = 2_000): Promise<string[]> {
  const stream = join(dir, 'archive.stream');
  const out = createWriteStream(stream);
  const write = (s: string) => (out.write(s) ? Promise.resolve() : new Promise<void>((r) => out.once('drain', () => r())));
  const data = (text: string) => `data ${Buffer.byteLength(text)}\n${text}\n`;
  const when = 1_790_000_000;
  const ids: string[] = [];
  let mark = 0;
  let parent: number | null = null;
  let ops: string[] = [];
  const perMonth = Math.ceil(finished / 10);
  // Each file rendered once by the real renderer, then only its id and time put in (fixed width): the same bytes
  // rendering each would give, at a fraction of the cost.
  const ID0 = 'bench-000000';
  const T0 = new Date(when * 1000).toISOString();
  const templates: [string, string][] = [
    ['handoff.md', renderBusFile('handoff', { id: ID0, title: `task ${ID0}`, from: 'bench', created: T0, command: 'true' }, '## Task\n\nbench\n')],
    ['claim.1.md', renderBusFile('claim', { id: ID0, attempt: 1, node: 'bench', claimed: T0 }, '')],
    ['response.md', renderBusFile('response', { id: ID0, status: 'succeeded', node: 'bench', attempt: 1, finished: T0, exitCode: 0 }, '## Summary\n\nok\n')],
  ];
  for (let j = 0; j < finished; j++) {
    const id = `bench-${String(j).padStart(6, '0')}`;
    ids.push(id);
    const month = `2026-${String(1 + Math.floor(j / perMonth)).padStart(2, '0')}`;
    const created = new Date((when + j) * 1000).toISOString();
    const files = templates.map(([name, text]) => [name, text.replaceAll(ID0, id).replaceAll(T0, created)] as const);
    for (const [name, text] of files) {
      mark++;
      await write(`blob\nmark :${mark}\n${data(text)}`);
      ops.push(`M 100644 :${mark} ${month}/${id}/${name}\n`, `M 100644 :${mark} ${archiveIndexPathFor(month, id)}/${name}\n`);
    }
    if (ids.length % every === 0 || j === finished - 1) {
      if (parent === null) ops.push(`M 100644 inline ${ARCHIVE_INDEX_FOLDER}/${ARCHIVE_INDEX_COMPLETE}\n${data(ARCHIVE_INDEX_COMPLETE_TEXT)}`);
      mark++;
      const msg = `gitbus: archive ${ops.length / 6} tasks\n`;
      await write(`commit refs/heads/archive\nmark :${mark}\ncommitter bench <b@x.invalid> ${when + j} +0000\n${data(msg)}${parent ? `from :${parent}\n` : ''}${ops.join('')}`);
      parent = mark;
      ops = [];
    }
  }
  await write('done\n');
  await new Promise<void>((r) => out.end(() => r()));
  execFileSync('sh', ['-c', `git fast-import --quiet --done < "${stream}"`], { cwd: remote, env: GIT_ENV });
  return ids;
}

/** BENCH_ARCHIVE_PATH=1: nodes read through git's services from a host that does not run git-upload-archive. */
const PATH_ONLY = process.env['BENCH_ARCHIVE_PATH'] === '1';

/**
 * BENCH_ARCHIVE_REV=0: leave the remotes as fast-import and the pushes left them, their packs without a reverse index
 * (as a bus made before gitbus asked for one, on a git older than 2.41, until its next gc).
 */
const KEEP_PACKS = process.env['BENCH_ARCHIVE_REV'] === '0';

/**
 * The remote as gitbus keeps it (bus/transport/local-gc.ts) and a git host keeps its repositories: packed by `git gc`,
 * each pack with its reverse index (`pack.writeReverseIndex`, which `gitbus init` sets; git ≥ 2.41's default) and a
 * bitmap. fast-import, which stands in for the archive runs' pushes here, writes neither; without the reverse index
 * every upload-pack exchange builds one in memory for the whole pack (~17 ms at 400,000 objects on this machine).
 */
function keepAsAHostDoes(remote: string): void {
  if (!KEEP_PACKS) execFileSync('git', ['--git-dir', remote, '-c', 'pack.writeReverseIndex=true', 'gc', '--quiet'], { env: GIT_ENV });
}

/** What the remote's pack folder holds, by kind: `1 .pack, 1 .idx, 1 .rev, 1 .bitmap`. */
function packFiles(remote: string): string {
  const kinds = new Map<string, number>();
  for (const f of readdirSync(join(remote, 'objects', 'pack'))) {
    const ext = /\.[a-z]+$/.exec(f)?.[0];
    if (ext) kinds.set(ext, (kinds.get(ext) ?? 0) + 1);
  }
  return [...kinds].map(([ext, n]) => `${n} ${ext}`).join(', ') || 'no packs';
}

/** Main's `archive-shards` for the archive's tip, committed with the git CLI as `gitbus archive` would write it. */
function writeShardsNote(remote: string, dir: string): void {
  const tip = execFileSync('git', ['--git-dir', remote, 'rev-parse', 'archive'], { encoding: 'utf8' }).trim();
  const listing = execFileSync('git', ['--git-dir', remote, 'ls-tree', `${tip}:${ARCHIVE_INDEX_FOLDER}`], { encoding: 'utf8' });
  const shards = new Map<string, string>();
  let complete = false;
  for (const line of listing.split('\n').filter(Boolean)) {
    const [meta = '', name = ''] = line.split('\t');
    const [, type, oid = ''] = meta.split(' ');
    if (type === 'tree') shards.set(name, oid);
    else if (name === ARCHIVE_INDEX_COMPLETE) complete = true;
  }
  const work = join(dir, 'note-writer');
  execFileSync('git', ['clone', '-q', '--branch', 'main', remote, work], { env: GIT_ENV });
  writeFileSync(join(work, ARCHIVE_SHARDS_PATH), renderArchiveShards({ archive: tip, complete, shards }));
  execFileSync('git', ['add', ARCHIVE_SHARDS_PATH], { cwd: work, env: GIT_ENV });
  execFileSync('git', ['commit', '-qm', 'gitbus: archive-shards'], { cwd: work, env: GIT_ENV });
  execFileSync('git', ['push', '-q', 'origin', 'HEAD:main'], { cwd: work, env: GIT_ENV });
}

function cli(args: string[], home: string): number {
  const t = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [CLI, ...args, '--home', home], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', env: { ...process.env, GITBUS_HOME: home } });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0 && !(args[0] === 'claim' && r.status === 3)) throw new Error(`gitbus ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

function run(args: string[], home: string): string {
  return execFileSync(process.execPath, [CLI, ...args, '--home', home, '--json'], { encoding: 'utf8', env: { ...process.env, GITBUS_HOME: home } });
}

/** Objects in a clone (loose files and packed), to show what a first lookup wrote. */
function objectFiles(clone: string): { loose: number; packs: number; bytes: number } {
  let loose = 0;
  let bytes = 0;
  let packs = 0;
  const objects = join(clone, 'objects');
  for (const d of readdirSync(objects)) {
    const p = join(objects, d);
    if (d === 'pack') {
      for (const f of readdirSync(p)) {
        bytes += statSync(join(p, f)).size;
        if (f.endsWith('.pack')) packs++;
      }
    } else if (/^[0-9a-f]{2}$/.test(d)) {
      for (const f of readdirSync(p)) {
        loose++;
        bytes += statSync(join(p, f)).size;
      }
    }
  }
  return { loose, packs, bytes };
}

interface BusUnderTest {
  name: string;
  remote: string;
  /** The task `show` reads: archived on the big bus, live and finished on the empty one. */
  shown: string;
}

const COMMANDS = ['status', 'show', 'claim --next', 'watch --once'] as const;
type Command = (typeof COMMANDS)[number];
const argsOf = (c: Command, bus: BusUnderTest): string[] => (c === 'show' ? ['show', bus.shown] : c === 'claim --next' ? ['claim', '--next'] : c === 'watch --once' ? ['watch', '--once'] : ['status']);

/**
 * Issue 14 point 4: `status`, `show` of an archived task, `claim --next` (a pending task waiting on an archived one)
 * and one watcher wake (`watch --once`, which claims and runs it), as CLI processes, with `finished` tasks on the
 * archive branch against an empty bus (its `show` reads a live finished task, its pending tasks wait on it): the
 * first time on a freshly joined node, and again on the same node. The two buses take turns command by command.
 */
export async function archiveBench(lines: string[], finished: number, runs: number): Promise<void> {
  // Set here, not when the module loads: the bench's other sections set and clear it for themselves.
  if (PATH_ONLY) process.env['GITBUS_DIRECT'] = '0';
  const dir = tmp('gitbus-bench-archive-');
  const pending = runs * 4 + 4;

  // The empty bus: one finished live task, and pending ones waiting on it.
  const emptyRemote = join(dir, 'empty.git');
  const emptyHome = join(dir, 'empty-admin');
  await initBus(emptyHome, { remote: emptyRemote, node: 'admin', runners: ['shell'] });
  const live = JSON.parse(run(['dispatch', 'finished live task', '--command', 'true', '--no-git'], emptyHome)) as { id: string };
  run(['claim', live.id], emptyHome);
  run(['respond', live.id, '--status', 'succeeded', '--summary', 'ok'], emptyHome);

  // The big bus: `finished` archived tasks.
  const bigRemote = join(dir, 'big.git');
  const bigHome = join(dir, 'big-admin');
  await initBus(bigHome, { remote: bigRemote, node: 'admin' });
  const t0 = Date.now();
  const ids = await writeArchive(bigRemote, dir, finished);
  const built = Date.now() - t0;
  const archived = ids[Math.floor(ids.length / 2)] as string;
  // `show` reads another archived task than the one the pending tasks wait on: `join` warms the status (its
  // dependencies' lookup included), so a dependency's lookup is done before the first timed command.
  const shown = ids[Math.floor(ids.length / 3)] as string;
  keepAsAHostDoes(bigRemote);
  const commits = execFileSync('git', ['--git-dir', bigRemote, 'rev-list', '--count', 'archive'], { encoding: 'utf8' }).trim();
  const archiveObjects = execFileSync('git', ['--git-dir', bigRemote, 'count-objects', '-v'], { encoding: 'utf8' });

  // The same archive without main's note of where its shards are (schemas/archive-shards.ts), as a bus archived by
  // a gitbus before it is: a reader walks from the archive's root. Then the note, as `gitbus archive` writes it.
  const bareRemote = join(dir, 'big-no-note.git');
  cpSync(bigRemote, bareRemote, { recursive: true });
  const bareHome = join(dir, 'big-no-note-admin');
  await joinBus(bareHome, bareRemote, { node: 'admin2' });
  writeShardsNote(bigRemote, dir);

  const buses: BusUnderTest[] = [
    { name: 'empty', remote: emptyRemote, shown: live.id },
    { name: 'big', remote: bigRemote, shown },
    { name: 'big-no-note', remote: bareRemote, shown },
  ];
  for (const [after, home] of [[live.id, emptyHome], [archived, bigHome], [archived, bareHome]] as const) {
    const ctx = await openBus(home);
    for (let i = 0; i < pending; i++) await dispatch(ctx, { handoff: { title: `waits ${i}`, command: 'true', after: [after] }, body: '## Task\n\nbench\n' });
    await ctx.repo.close();
  }
  // The empty bus too, so that both sides are served from the same kind of object store.
  keepAsAHostDoes(emptyRemote);

  // first[bus][command], later[bus][command]
  const first = new Map<string, number[]>();
  const later = new Map<string, number[]>();
  const push = (m: Map<string, number[]>, k: string, v: number) => m.set(k, [...(m.get(k) ?? []), v]);
  let node = 0;
  let firstClone: ReturnType<typeof objectFiles> | null = null;
  for (let r = 0; r < runs; r++) {
    for (const c of COMMANDS) {
      for (const bus of r % 2 === 0 ? buses : [...buses].reverse()) {
        const home = join(dir, `n${node++}`);
        await joinBus(home, bus.remote, { node: `n${node}`, runners: ['shell'] });
        // As on a host that does not run git-upload-archive (GitHub, smart HTTP): what it answers, remembered.
        if (PATH_ONLY) writeFileSync(join(home, 'clone.git', 'gitbus-archive-upload-archive'), 'refused (bench)\n');
        push(first, `${bus.name} ${c}`, cli(argsOf(c, bus), home));
        if (bus.name === 'big' && c === 'show' && !firstClone) firstClone = objectFiles(join(home, 'clone.git'));
        push(later, `${bus.name} ${c}`, cli(argsOf(c, bus), home));
      }
    }
  }

  const s = (m: Map<string, number[]>, k: string): Sample => summarize(m.get(k) ?? []);
  lines.push(`## ${finished} archived tasks behind the bus, against an empty bus: commands as processes (${runs} runs each)`, '');
  lines.push(`archive: ${finished} tasks in ${commits} archive commits, written with git fast-import in ${built} ms (layout of bus/ops/archive.ts, id index included)`);
  lines.push(`remote object store: ${archiveObjects.split('\n').filter((l) => /^(count|size-pack|in-pack)/.test(l)).join(', ')}; pack files: ${packFiles(bigRemote)}${KEEP_PACKS ? ' (BENCH_ARCHIVE_REV=0: as fast-import wrote them)' : ' (after git gc with pack.writeReverseIndex, as gitbus and hosts keep a remote)'}`);
  if (firstClone) lines.push(`a fresh node's clone after its first \`show\` of an archived task: ${firstClone.loose} loose objects, ${firstClone.packs} pack(s), ${Math.round(firstClone.bytes / 1024)} KiB`);
  lines.push('');
  if (PATH_ONLY) lines.push('every node reads through git\'s services (GITBUS_DIRECT=0) as from a host without git-upload-archive (BENCH_ARCHIVE_PATH=1)', '');
  for (const c of COMMANDS) {
    lines.push(row(`${c}, first time (fresh join)`, s(first, `big ${c}`), s(first, `empty ${c}`), 1.3));
    lines.push(row(`${c}, again on the same node`, s(later, `big ${c}`), s(later, `empty ${c}`), 1.3));
  }
  lines.push('', 'the same archive without main\'s archive-shards (a reader walks from the archive\'s root):');
  for (const c of COMMANDS) lines.push(row(`${c}, first time (fresh join), no note`, s(first, `big-no-note ${c}`), s(first, `empty ${c}`), 1.3));
  lines.push('', `baseline: the same command on an empty bus (show: a live finished task; claim --next and watch --once: a task waiting on it); medians ${COMMANDS.map((c) => `${c} ${fmt(s(first, `empty ${c}`).median)} ms`).join(', ')}`, '');
}
