import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gitbus, gitCli } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';

/**
 * The status digest (docs/ARCHITECTURE.md "The status digest"): what status works out of one commit of main is kept
 * per commit on the node, and the next status of that commit reads it instead of every live task. It changes how
 * fast status is, never what it says.
 */
describe('status digest', () => {
  let bus: Awaited<ReturnType<typeof makeBus>>;
  let home: string;
  let work: string;
  const clone = () => join(home, 'clone.git');
  const digestDir = () => join(clone(), 'gitbus-cache', 'status');
  const head = () => gitCli(['--git-dir', bus.remote, 'rev-parse', 'main']).trim();

  beforeAll(async () => {
    bus = await makeBus({ node: 'alpha' });
    home = bus.home('alpha');
    work = join(bus.dir, 'work');
    gitCli(['clone', '-q', bus.remote, work]);
    mkdirSync(join(work, 'handoffs'), { recursive: true });
    // More than a state lists (50), so that the digest's first tasks a state and its full list both count.
    for (let i = 0; i < 60; i++) writeFileSync(join(work, 'handoffs', `good-${String(i).padStart(2, '0')}.md`), `---\ntitle: good ${i}\npriority: ${i % 3}\nlabels: [x]\n---\n## Task\n\nwork ${i}\n`);
    writeFileSync(join(work, 'handoffs', 'bad-yaml.md'), '---\ntitle: [unclosed\n---\nbody\n');
    writeFileSync(join(work, 'handoffs', 'bad-field.md'), '---\ntitle: odd\npriority: high\nsurprise: 1\n---\n');
    const more: Record<string, string> = {
      'newer-protocol': 'protocol: 9\ntitle: from the future',
      scheduled: 'title: nightly\nschedule: "0 3 * * *"\ncommand: make nightly',
      'blocked-live': 'title: after good-00\nafter: [good-00]',
      'waits-on-later': 'title: after a task archived later\nafter: [later]',
      project: 'title: in a repo\nrepo: /srv/app.git\nbranch: feature/x\ngroup: g-1\ncommand: make test',
      'to-claim': 'title: claimed by alpha\ncommand: sleep 1',
      'to-succeed': 'title: will succeed\ncommand: "true"',
    };
    for (const [id, front] of Object.entries(more)) writeFileSync(join(work, 'handoffs', `${id}.md`), `---\n${front}\n---\n## Task\n\n${id}\n`);
    gitCli(['add', '-A'], work);
    gitCli(['commit', '-q', '-m', 'pool'], work);
    gitCli(['push', '-q', 'origin', 'HEAD:main'], work);
    for (const args of [['claim', 'to-claim'], ['claim', 'to-succeed'], ['respond', 'to-succeed', '--status', 'succeeded', '--summary', 'done']]) {
      const r = await gitbus(args, { home });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    }
  });
  afterAll(async () => bus.cleanup());

  const run = async (args: string[], at = home) => {
    const r = await gitbus(args, { home: at });
    expect(r.code, r.stderr).toBe(0);
    // How long this observer has watched the remote and how old a heartbeat is grow between two runs.
    return r.stdout.replace(/"windowMs": \d+/g, '"windowMs": 0').replace(/"ageMs": \d+/g, '"ageMs": 0').replace(/"observedPerMin": [\d.]+/g, '"observedPerMin": 0');
  };
  const fresh = () => rmSync(join(clone(), 'gitbus-cache'), { recursive: true, force: true });

  it('a status read from the digest says what one worked out in full says, byte for byte, without reading a task file', async () => {
    fresh();
    const textFull = await run(['status']);
    expect(readdirSync(digestDir())).toEqual([`${head()}.digest`]);
    fresh();
    const jsonFull = await run(['status', '--json']);
    expect(existsSync(join(digestDir(), `${head()}.digest`))).toBe(true);

    // Every task file's blob and the parse cache gone: a status that read any task file would have to fetch it back.
    rmSync(join(clone(), 'gitbus-cache', 'parsed'), { recursive: true, force: true });
    const blobs = gitCli(['--git-dir', clone(), 'ls-tree', '-r', 'main', 'handoffs/', 'claims/', 'responses/']).split('\n').filter(Boolean).map((l) => l.split(/\s+/)[2] as string);
    expect(blobs.length).toBeGreaterThan(69);
    const loose = (oid: string) => join(clone(), 'objects', oid.slice(0, 2), oid.slice(2));
    for (const oid of blobs) unlinkSync(loose(oid));
    expect(await run(['status'])).toBe(textFull);
    expect(await run(['status', '--json'])).toBe(jsonFull);
    expect(blobs.filter((oid) => existsSync(loose(oid)))).toEqual([]);

    // What it says: every state, the first 50 pending listed and the rest counted, the problems of bad handoffs.
    expect(textFull).toContain('... and 11 more');
    const status = JSON.parse(jsonFull) as { counts: Record<string, number>; tasks: { id: string; state: string }[]; problems: { path: string }[] };
    expect(status.tasks).toHaveLength(69);
    expect(status.counts).toEqual({ pending: 61, invalid: 2, unsupported: 1, scheduled: 1, blocked: 2, claimed: 1, succeeded: 1 });
    expect(status.problems.map((p) => p.path)).toEqual(expect.arrayContaining(['handoffs/bad-yaml.md', 'handoffs/bad-field.md']));
  });

  it('a new commit gets its own digest, written as its changes from the last full one; two are kept, and the full one they name', async () => {
    const before = head();
    await run(['status']);
    expect(readdirSync(digestDir())).toContain(`${before}.digest`);
    const id = await bus.dispatch('alpha', ['one more', '--command', 'true']);
    const after = head();
    expect(after).not.toBe(before);
    const s = JSON.parse(await run(['status', '--json'])) as { head: string; tasks: { id: string; state: string }[] };
    expect(s.head).toBe(after);
    expect(s.tasks.find((t) => t.id === id)?.state).toBe('pending');
    expect(readdirSync(digestDir()).sort()).toEqual([`${after}.${before}.digest`, `${before}.digest`].sort());
    // A delta is its changes: a few hundred bytes a task, not every task's summary again.
    expect(statSync(join(digestDir(), `${after}.${before}.digest`)).size).toBeLessThan(statSync(join(digestDir(), `${before}.digest`)).size / 2);
    const second = await bus.dispatch('alpha', ['and another', '--command', 'true']);
    const text = await run(['status']);
    expect(readdirSync(digestDir()).sort()).toEqual([`${head()}.${before}.digest`, `${after}.${before}.digest`, `${before}.digest`].sort());
    // Read again, the delta says what was worked out; its lines are the two new tasks'.
    const json = await run(['status', '--json']);
    expect((JSON.parse(json) as { tasks: { id: string }[] }).tasks.filter((t) => t.id === id || t.id === second)).toHaveLength(2);
    expect(await run(['status'])).toBe(text);
    // The full digest a delta is written on, damaged: the delta is no digest, and status works it out again.
    const base = join(digestDir(), `${before}.digest`);
    const bytes = readFileSync(base);
    bytes[bytes.length - 5] = (bytes[bytes.length - 5] as number) ^ 0x01;
    writeFileSync(base, bytes);
    expect(await run(['status', '--json'])).toBe(json);
  });

  it('the status of a commit another node pushed reads only the tasks that changed, and says what one worked out in full says', async () => {
    // Processes of their own: the test's process remembers parse results the command would otherwise have read (and
    // its modules are another build than the bundle's, whose digests they do not read).
    expect((await gitbus(['status'], { home, process: true })).code).toBe(0);
    // Every handoff the node holds gone, with the parse cache: a status that read an unchanged one would fetch it back.
    rmSync(join(clone(), 'gitbus-cache', 'parsed'), { recursive: true, force: true });
    const blobs = gitCli(['--git-dir', clone(), 'ls-tree', 'main', 'handoffs/']).split('\n').filter(Boolean).map((l) => l.split(/\s+/)[2] as string);
    expect(blobs.length).toBeGreaterThan(69);
    const loose = (oid: string) => join(clone(), 'objects', oid.slice(0, 2), oid.slice(2));
    // (The first test's status left those it removed absent: it read none of them either.)
    for (const oid of blobs) if (existsSync(loose(oid))) unlinkSync(loose(oid));
    gitCli(['pull', '-q', 'origin', 'main'], work);
    writeFileSync(join(work, 'handoffs', 'pushed-elsewhere.md'), '---\ntitle: pushed by another node\npriority: 5\ncommand: "true"\n---\n');
    gitCli(['add', '-A'], work);
    gitCli(['commit', '-q', '-m', 'another node'], work);
    gitCli(['push', '-q', 'origin', 'HEAD:main'], work);
    const r = await gitbus(['status', '--json'], { home, process: true });
    expect(r.code, r.stderr).toBe(0);
    expect(blobs.filter((oid) => existsSync(loose(oid)))).toEqual([]);
    const derived = JSON.parse(r.stdout) as { head: string; tasks: { id: string; state: string }[] };
    expect(derived.head).toBe(head());
    expect(derived.tasks[0]).toMatchObject({ id: 'pushed-elsewhere', state: 'pending' });
    const derivedText = await run(['status']);
    fresh();
    expect(await run(['status'])).toBe(derivedText);
    expect(JSON.parse(await run(['status', '--json']))).toEqual(JSON.parse(r.stdout.replace(/"windowMs": \d+/g, '"windowMs": 0').replace(/"ageMs": \d+/g, '"ageMs": 0').replace(/"observedPerMin": [\d.]+/g, '"observedPerMin": 0')));
  });

  it('a damaged digest is ignored and written again: status says the same', async () => {
    const before = await run(['status', '--json']);
    const file = join(digestDir(), `${head()}.digest`);
    const bytes = readFileSync(file);
    const at = Math.floor(bytes.length / 3);
    bytes[at] = (bytes[at] as number) ^ 0x01;
    writeFileSync(file, bytes);
    expect(await run(['status', '--json'])).toBe(before);
    expect(readFileSync(file).equals(bytes)).toBe(false);
    writeFileSync(file, 'garbage');
    expect(await run(['status', '--json'])).toBe(before);
    expect(readFileSync(file, 'utf8')).not.toBe('garbage');
  });

  it('a dependency the archive did not know is asked again: archived since, the task waiting on it is pending', async () => {
    fresh();
    const waiting = async () => (JSON.parse(await run(['status', '--json'])) as { tasks: { id: string; state: string; waitingOn: { id: string; state: string }[] }[] }).tasks.find((t) => t.id === 'waits-on-later');
    expect(await waiting()).toMatchObject({ state: 'blocked', waitingOn: [{ id: 'later', state: 'unknown' }] });
    const commit = head();
    expect(existsSync(join(digestDir(), `${commit}.digest`))).toBe(true);
    // `later` runs and is archived on another commit; then main is put back to the digest's commit, where it is
    // neither live nor (then) known to the archive.
    gitCli(['pull', '-q', 'origin', 'main'], work);
    writeFileSync(join(work, 'handoffs', 'later.md'), '---\ntitle: later\ncommand: "true"\n---\n');
    gitCli(['add', '-A'], work);
    gitCli(['commit', '-q', '-m', 'later'], work);
    gitCli(['push', '-q', 'origin', 'HEAD:main'], work);
    for (const args of [['claim', 'later'], ['respond', 'later', '--status', 'succeeded', '--summary', 'done'], ['archive', '--all']]) {
      const r = await gitbus(args, { home });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    }
    gitCli(['--git-dir', bus.remote, 'update-ref', 'refs/heads/main', commit]);
    // A node refuses a main that does not carry what it last saw (REMOTE_MAIN_REWOUND) until a person accepts it.
    gitCli(['--git-dir', join(home, 'clone.git'), 'update-ref', 'refs/heads/main', commit]);
    expect(await waiting()).toMatchObject({ state: 'pending', waitingOn: [] });
  });

  it('join leaves the digest of main for the first status; a node with a policy works status out in full every time', async () => {
    const beta = await bus.addNode('beta');
    const digests = join(beta, 'clone.git', 'gitbus-cache', 'status');
    expect(readdirSync(digests)).toEqual([`${head()}.digest`]);
    rmSync(digests, { recursive: true, force: true });
    const path = join(beta, 'node.yaml');
    writeFileSync(path, stringify({ ...(parse(readFileSync(path, 'utf8')) as Record<string, unknown>), policy: { runners: ['shell'] } }));
    const r = await gitbus(['status', '--json'], { home: beta });
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { tasks: unknown[] }).tasks.length).toBeGreaterThan(69);
    expect(existsSync(digests)).toBe(false);
  });
});
