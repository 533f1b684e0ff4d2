import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gitbus, gitCli, commandsAsProcesses } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';

// Every command here runs as a process: the parse cache on disk, which each process reads and writes, is the subject
// (in one process the memos answer).
commandsAsProcesses();

/**
 * The node's parse cache (docs/ARCHITECTURE.md "The parse cache") changes how fast status is, never what it says:
 * the same bytes from a cache written by an earlier process as from parsing every file, problems included.
 */
describe('parse cache', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let home: string;
  const cacheDir = () => join(home, 'clone.git', 'gitbus-cache', 'parsed');

  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha' });
    home = bus.home('alpha');
    // Good handoffs, enough for a cache file, and bad ones among them (as a person's editor might leave them).
    const work = join(bus.dir, 'work');
    gitCli(['clone', '-q', bus.remote, work]);
    mkdirSync(join(work, 'handoffs'), { recursive: true });
    for (let i = 0; i < 30; i++) writeFileSync(join(work, 'handoffs', `good-${String(i).padStart(2, '0')}.md`), `---\ntitle: good ${i}\npriority: ${i % 3}\nlabels: [x]\n---\n## Task\n\nwork ${i}\n`);
    writeFileSync(join(work, 'handoffs', 'bad-yaml.md'), '---\ntitle: [unclosed\n---\nbody\n');
    writeFileSync(join(work, 'handoffs', 'bad-field.md'), '---\ntitle: odd\npriority: high\nsurprise: 1\n---\n');
    // Every state status shows, and every handoff field its list reads (status lists them from the cache's facts).
    const more: Record<string, string> = {
      'newer-protocol': 'protocol: 9\ntitle: from the future',
      scheduled: 'title: nightly\nschedule: "0 3 * * *"\ncommand: make nightly',
      'blocked-live': 'title: after good-00\nafter: [good-00]\nto: alpha',
      'blocked-gone': 'title: after a task nobody knows\nafter: [no-such-task]',
      'ready-after': 'title: after one that succeeded\nafter: [to-succeed]\nrunner: tmux\ncommand: make',
      project: 'title: in a repo\nrepo: /srv/app.git\nbranch: feature/x\ngroup: g-1\ncommand: make test\ncreated: 2026-11-02T00:00:00Z',
      'to-claim': 'title: claimed by alpha\ncommand: sleep 1',
      'to-succeed': 'title: will succeed\ncommand: "true"',
      'to-cancel': 'title: cancelled before it ran\ncommand: "true"',
    };
    // Label x, as the good ones, but for those alpha claims here: alpha (no labels) can claim none of the rest with
    // --next (the last test).
    for (const [id, front] of Object.entries(more)) writeFileSync(join(work, 'handoffs', `${id}.md`), `---\n${front}\n${id.startsWith('to-') ? '' : 'labels: [x]\n'}---\n## Task\n\n${id}\n`);
    gitCli(['add', '-A'], work);
    gitCli(['commit', '-q', '-m', 'pool with bad handoffs'], work);
    gitCli(['push', '-q', 'origin', 'HEAD:main'], work);
    for (const args of [['claim', 'to-claim'], ['claim', 'to-succeed'], ['respond', 'to-succeed', '--status', 'succeeded', '--summary', 'done'], ['cancel', 'to-cancel']]) {
      const r = await gitbus(args, { home });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    }
  });
  afterAll(async () => bus.cleanup());

  const run = async (args: string[]) => {
    const r = await gitbus(args, { home });
    expect(r.code, r.stderr).toBe(0);
    // How long this observer has watched the remote (the push budget's window) grows between two runs; it says
    // nothing about parsing.
    return r.stdout.replace(/"windowMs": \d+/g, '"windowMs": 0');
  };

  it('a cached status equals an uncached one byte for byte, problems of bad handoffs included, without reading the blobs', async () => {
    // Uncached: no cache folder yet, every file parsed from its blob (and the cache written).
    rmSync(join(home, 'clone.git', 'gitbus-cache'), { recursive: true, force: true });
    const textCold = await run(['status']);
    const files = readdirSync(cacheDir());
    expect(files.some((f) => /^handoffs-[0-9a-f]{40}\.cache$/.test(f))).toBe(true);
    rmSync(join(home, 'clone.git', 'gitbus-cache'), { recursive: true, force: true });
    const jsonCold = await run(['status', '--json']);
    rmSync(join(home, 'clone.git', 'gitbus-cache'), { recursive: true, force: true });
    const lintCold = await gitbus(['lint', '--json'], { home });

    // Cached: the handoffs' blobs are removed from the node's clone, so a status that still reads them would
    // have to fetch them again (and they would be back). They stay gone: every result came from the cache.
    await run(['status']);
    const clone = join(home, 'clone.git');
    const blobs = gitCli(['--git-dir', clone, 'ls-tree', 'main', 'handoffs/']).split('\n').filter(Boolean).map((l) => l.split(/\s+/)[2] as string);
    expect(blobs.length).toBe(41);
    const loose = (oid: string) => join(clone, 'objects', oid.slice(0, 2), oid.slice(2));
    for (const oid of blobs) unlinkSync(loose(oid));
    const textWarm = await run(['status']);
    const jsonWarm = await run(['status', '--json']);
    const lintWarm = await gitbus(['lint', '--json'], { home });
    expect(blobs.filter((oid) => existsSync(loose(oid)))).toEqual([]);

    // status lists the handoffs from their facts alone: with the parse results of the file damaged (the facts
    // are checked apart), it says the same, and still reads no handoff blob.
    const [file] = readdirSync(cacheDir()).filter((f) => f.startsWith('handoffs-'));
    const bytes = readFileSync(join(cacheDir(), file as string));
    const headerEnd = bytes.indexOf(0x0a, 'gitbus-parse-cache\n'.length);
    const { length } = JSON.parse(bytes.toString('utf8', 'gitbus-parse-cache\n'.length, headerEnd)) as { length: number };
    const at = headerEnd + 1 + Math.floor(length / 2);
    bytes[at] = (bytes[at] as number) ^ 0x01;
    writeFileSync(join(cacheDir(), file as string), bytes);
    expect(await run(['status'])).toBe(textWarm);
    expect(await run(['status', '--json'])).toBe(jsonWarm);
    expect(blobs.filter((oid) => existsSync(loose(oid)))).toEqual([]);

    expect(textWarm).toBe(textCold);
    expect(jsonWarm).toBe(jsonCold);
    expect(lintWarm.code).toBe(lintCold.code);
    expect(lintWarm.stdout).toBe(lintCold.stdout);
    const status = JSON.parse(jsonWarm) as { problems: { path: string; field: string }[]; tasks: { id: string; state: string }[] };
    expect(status.problems.map((p) => p.path)).toEqual(expect.arrayContaining(['handoffs/bad-yaml.md', 'handoffs/bad-field.md']));
    expect(status.problems.find((p) => p.path === 'handoffs/bad-field.md' && p.field === 'priority')).toBeDefined();
    expect(status.tasks.filter((t) => t.state === 'invalid').map((t) => t.id).sort(), JSON.stringify(status.problems)).toEqual(['bad-field', 'bad-yaml']);
    expect(status.tasks.filter((t) => t.state === 'pending').map((t) => t.id)).toEqual(expect.arrayContaining(['good-00', 'ready-after', 'project']));
    const stateOf = Object.fromEntries(status.tasks.map((t) => [t.id, t.state]));
    expect(stateOf).toMatchObject({ 'newer-protocol': 'unsupported', scheduled: 'scheduled', 'blocked-live': 'blocked', 'blocked-gone': 'blocked', 'to-claim': 'claimed', 'to-succeed': 'succeeded', 'to-cancel': 'cancelled' });
    expect(status.tasks.find((t) => t.id === 'project')).toMatchObject({ branch: 'feature/x', group: 'g-1', runner: 'shell', created: '2026-11-02T00:00:00Z' });
  });

  it('join writes the parse cache of the tree it fetched: the new node\'s first status reads no handoff blob', async () => {
    const beta = join(bus.dir, 'beta-home');
    const j = await gitbus(['join', bus.remote, '--node', 'beta', '--home', beta]);
    expect(j.code, j.stderr).toBe(0);
    const clone = join(beta, 'clone.git');
    const tree = gitCli(['--git-dir', clone, 'rev-parse', 'main:handoffs']).trim();
    expect(readdirSync(join(clone, 'gitbus-cache', 'parsed'))).toContain(`handoffs-${tree}.cache`);
    // As above: with the handoffs' blobs gone, a status that parsed them would have to fetch them back.
    const blobs = gitCli(['--git-dir', clone, 'ls-tree', 'main', 'handoffs/']).split('\n').filter(Boolean).map((l) => l.split(/\s+/)[2] as string);
    for (const oid of blobs) unlinkSync(join(clone, 'objects', oid.slice(0, 2), oid.slice(2)));
    const r = await gitbus(['status', '--json'], { home: beta });
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { tasks: unknown[] }).tasks).toHaveLength(41);
    expect(blobs.filter((oid) => existsSync(join(clone, 'objects', oid.slice(0, 2), oid.slice(2))))).toEqual([]);
  });

  it('node cards come from the cache too: with many nodes, a status reads no card blob and writes no cache file anew', async () => {
    // Twelve nodes' cards, written as join writes them, enough for a cache file of nodes/.
    const work = join(bus.dir, 'cards');
    gitCli(['clone', '-q', bus.remote, work]);
    mkdirSync(join(work, 'nodes'), { recursive: true });
    for (let i = 0; i < 12; i++) {
      const node = `card-${String(i).padStart(2, '0')}`;
      writeFileSync(join(work, 'nodes', `${node}.md`), `---\nnode: ${node}\nlabels: []\nrunners: [manual]\nparallel: 1\nversion: 0.1.0\njoined: 2026-12-05T00:00:00.000Z\nupdated: 2026-12-05T00:00:00.000Z\n---\n`);
    }
    gitCli(['add', '-A'], work);
    gitCli(['commit', '-q', '-m', 'twelve nodes'], work);
    gitCli(['push', '-q', 'origin', 'HEAD:main'], work);
    const cold = await run(['status', '--json']);
    const clone = join(home, 'clone.git');
    const tree = gitCli(['--git-dir', clone, 'rev-parse', 'main:nodes']).trim();
    const file = join(cacheDir(), `nodes-${tree}.cache`);
    expect(existsSync(file)).toBe(true);
    const written = readFileSync(file);
    // With the cards' blobs gone, a status that parsed them again would have to fetch them back (until session 36
    // every status did: the cards were parsed before the cache file was looked at, and the file written anew).
    const blobs = gitCli(['--git-dir', clone, 'ls-tree', 'main', 'nodes/']).split('\n').filter(Boolean).map((l) => l.split(/\s+/)[2] as string);
    expect(blobs.length).toBeGreaterThanOrEqual(13);
    const loose = (oid: string) => join(clone, 'objects', oid.slice(0, 2), oid.slice(2));
    for (const oid of blobs) unlinkSync(loose(oid));
    expect(await run(['status', '--json'])).toBe(cold);
    expect(blobs.filter((oid) => existsSync(loose(oid)))).toEqual([]);
    expect(readFileSync(file).equals(written)).toBe(true);
  });

  it('the ES module build and the bundle share one parse cache: a status run either way reads the file the other wrote', async () => {
    const clone = join(home, 'clone.git');
    const tree = gitCli(['--git-dir', clone, 'rev-parse', 'main:handoffs']).trim();
    const file = join(cacheDir(), `handoffs-${tree}.cache`);
    const status = async (esm: boolean) => {
      const r = await gitbus(['status', '--json'], { home, process: true, ...(esm ? { env: { GITBUS_CODE_CACHE: '0' } } : {}) });
      expect(r.code, r.stderr).toBe(0);
      return r.stdout.replace(/"windowMs": \d+/g, '"windowMs": 0');
    };
    for (const first of [true, false]) {
      rmSync(join(clone, 'gitbus-cache'), { recursive: true, force: true });
      const before = await status(first);
      const written = readFileSync(file);
      // The other way of running reads it as its own (until session 37 it parsed every handoff and wrote it anew).
      expect(await status(!first)).toBe(before);
      expect(readFileSync(file).equals(written), first ? 'the bundle after the ES module build' : 'the ES module build after the bundle').toBe(true);
    }
  });

  it('a status that reads its cache files loads no node:crypto: their checksums are sum32s and adler32s (bus/store/header-line.ts)', async () => {
    await run(['status']);
    expect(readdirSync(cacheDir()).some((f) => f.startsWith('handoffs-'))).toBe(true);
    const preload = join(bus.dir, 'crypto-probe.cjs');
    const log = join(bus.dir, 'crypto-probe.log');
    writeFileSync(preload, `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(log)}, process.moduleLoadList.filter((m) => m === 'NativeModule crypto').join('\\n')));\n`);
    const r = await gitbus(['status', '--json'], { home, env: { NODE_OPTIONS: `--require=${preload}` } });
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { tasks: unknown[] }).tasks.length).toBeGreaterThanOrEqual(41);
    expect(readFileSync(log, 'utf8')).toBe('');
  });

  it('a damaged cache file is ignored: status parses again and says the same', async () => {
    const before = await run(['status', '--json']);
    for (const f of readdirSync(cacheDir())) writeFileSync(join(cacheDir(), f), 'garbage');
    expect(await run(['status', '--json'])).toBe(before);
  });

  it('claim --next decides the same from the cache as from the blobs, tasks for a label this node lacks ruled out', async () => {
    // Nothing claimable: the 30 good tasks and the 6 others not ended need label x (alpha has none), the 2 bad
    // ones are invalid.
    const nothing = async () => {
      const r = await gitbus(['claim', '--next', '--json'], { home });
      expect(r.code, r.stderr).not.toBe(0);
      return JSON.parse(r.stdout) as { error: { code: string; message: string; data: { pending: number } } };
    };
    rmSync(join(home, 'clone.git', 'gitbus-cache'), { recursive: true, force: true });
    const cold = await nothing();
    const warm = await nothing();
    expect(readdirSync(cacheDir()).some((f) => f.startsWith('handoffs-'))).toBe(true);
    expect(warm).toEqual(cold);
    expect(warm.error.code).toBe('NOTHING_CLAIMABLE');
    // Every live task counts in what the message says, those ruled out by their labels too.
    expect(warm.error.data.pending).toBe(38);
    expect(warm.error.message).toContain('38 live task(s) are for other nodes or labels, blocked, or invalid');
    // One task alpha may run, behind the others in priority: the one claimed, from the cache.
    const id = await bus.dispatch('alpha', ['for anyone', '--command', 'true', '--priority', '-5']);
    await run(['status']);
    const r = await gitbus(['claim', '--next', '--json'], { home });
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { id: string }).id).toBe(id);
  });
});
