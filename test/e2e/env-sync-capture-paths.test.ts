import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitbus, json } from '../helpers/cli.js';
import { envFleet, type EnvBus } from '../helpers/env-fleet.js';

/**
 * Environment sync (issue 12) against what a capture must never put on the bus (test/helpers/env-fleet.ts: nodes a
 * and b, fake HOMEs, a real bare remote, the CLI): a path no manifest may hold, found in a captured folder or
 * named, made the profile invalid on every node, and capturing again wrote it again; gitbus's own bus home synced
 * would give every node one node's name (~/.gitbus, and one GITBUS_HOME puts elsewhere under the home); an entry
 * naming "constructor" passed for a file every manifest has; a never-synced name in a case lower-casing misses
 * (~/.ſsh) slipped through.
 */

const fleet = envFleet();
const { fakeHome, envCmd, cli, put, read, onBus, byHand, plantEntry, ok, errorOf } = fleet;
let bus: EnvBus;

beforeAll(async () => {
  bus = await fleet.start();
}, 30_000);

afterAll(() => fleet.stop());

type Capture = { files: { target: string }[]; skipped: { target: string; reason: string }[] };

describe('gitbus env capture', () => {
  it('leaves out a folder\'s files whose path no profile may hold, refuses such a path named alone or two paths one inside the other, and writes only profiles nodes can use', async () => {
    put('a', '.claude/commands/review.md', 'review the diff\n');
    put('a', '.claude/commands/Icon\r', '');
    put('a', '.claude/commands/notes ', 'trailing space\n');
    put('a', '.claude/commands/a\\b.md', 'backslash\n');
    // Four names of 255 characters: each one may be, but a path has at most 1,024.
    const long = `long/${Array.from({ length: 4 }, (_, i) => `${i}`.repeat(255)).join('/')}`;
    put('a', long, 'long\n');
    put('a', 'long/ok.md', 'fine\n');
    const r = await envCmd('a', ['capture', 'cmds', '--add', '~/.claude/commands', '--add', '~/long']);
    ok(r);
    const got = json<Capture>(r);
    expect(got.files.map((f) => f.target)).toEqual(['~/.claude/commands/review.md', '~/long/ok.md']);
    expect(got.skipped).toEqual(
      expect.arrayContaining([
        { target: '~/.claude/commands/Icon\r', reason: expect.stringMatching(/^its name cannot be kept in a profile \(it contains a control character\): left out; rename it/) },
        { target: '~/.claude/commands/notes ', reason: expect.stringMatching(/starts or ends with white space/) },
        { target: '~/.claude/commands/a\\b.md', reason: expect.stringMatching(/contains "\\"/) },
        { target: `~/${long}`, reason: expect.stringMatching(/^its path cannot be kept in a profile \(it is longer than 1024 characters\): left out/) },
      ]),
    );
    const lint = await cli('a', ['lint']);
    ok(lint);
    ok(await envCmd('b', ['apply', 'cmds']));
    expect(read('b', '.claude/commands/review.md')).toBe('review the diff\n');

    // Named alone, such a path is refused with the reason, and nothing is written.
    // ~/n1/…/n15/f is 16 names: a target may have 16, but under files/home/ it has 17.
    const before = onBus('env/cmds/manifest.yaml');
    const alone = 'n1/n2/n3/n4/n5/n6/n7/n8/n9/n10/n11/n12/n13/n14/n15/f';
    put('a', alone, 'deep\n');
    const named = await envCmd('a', ['capture', 'cmds', '--add', `~/${alone}`]);
    expect(named.code).toBe(2);
    expect(errorOf(named)).toMatchObject({ code: 'ENV_TARGET_REFUSED', message: expect.stringMatching(/its path cannot be kept in a profile: it is more than 16 folders deep/) });
    // A folder and a file in it: nodes refuse such a manifest, so it is never written.
    put('a', '.claude/CLAUDE.md', '# house rules\n');
    const overlap = await envCmd('a', ['capture', 'cmds', '--add', '~/.claude', '--add', '~/.claude/CLAUDE.md']);
    expect(overlap.code).toBe(2);
    expect(errorOf(overlap)).toMatchObject({ code: 'ENV_TARGET_REFUSED', message: expect.stringMatching(/the profile would be invalid on every node: entries\.\d: .*overlap: one is inside the other/), fix: expect.stringMatching(/not both/) });
    expect(onBus('env/cmds/manifest.yaml')).toBe(before);
  });

  it('never syncs gitbus\'s own bus home (~/.gitbus), and an entry naming "constructor" is not a file every manifest has', async () => {
    put('a', '.gitbus/node.yaml', 'node: a\n');
    const refused = await envCmd('a', ['capture', 'home', '--add', '~/.gitbus']);
    expect(refused.code).toBe(2);
    expect(errorOf(refused)).toMatchObject({ code: 'ENV_TARGET_REFUSED', message: expect.stringMatching(/~\/\.gitbus: it is never synced: gitbus's bus home/) });

    // Pushed by hand, an entry for b's node.yaml is skipped with the reason, and b's file stays b's.
    put('b', '.gitbus/node.yaml', 'node: b\n');
    byHand((work) => plantEntry(work, 'cmds', { source: 'home/.gitbus/node.yaml', target: '~/.gitbus/node.yaml' }, { source: 'home/.gitbus/node.yaml', text: 'node: a\n' }));
    const status = await envCmd('b', ['status', 'cmds']);
    ok(status);
    expect(json<{ profiles: { skipped: { target: string; kind: string; reason: string }[] }[] }>(status).profiles[0]?.skipped).toEqual([{ target: '~/.gitbus/node.yaml', kind: 'refused', reason: expect.stringMatching(/^never synced: gitbus's bus home/) }]);
    ok(await envCmd('b', ['apply', 'cmds']));
    expect(read('b', '.gitbus/node.yaml')).toBe('node: b\n');

    // A source named like a property every object has is no file of the profile: invalid, not silently nothing.
    byHand((work) => {
      mkdirSync(join(work, 'env/proto/files'), { recursive: true });
      writeFileSync(join(work, 'env/proto/manifest.yaml'), 'format: 1\nentries:\n  - {source: constructor, target: ~/ctor}\nfiles: {}\n');
    });
    const lint = await cli('a', ['lint']);
    expect(lint.code).toBe(8);
    expect(json<{ problems: { path: string; field: string; reason: string; severity: string }[] }>(lint).problems).toContainEqual(expect.objectContaining({ path: 'env/proto/manifest.yaml', field: 'entries.0.source', reason: 'constructor is not among the profile\'s files', severity: 'error' }));
    const apply = await envCmd('b', ['apply', 'proto']);
    expect(apply.code).toBe(8);
    expect(errorOf(apply).code).toBe('ENV_PROFILE_INVALID');
    expect(existsSync(join(fakeHome('b'), 'ctor'))).toBe(false);
  });

  it('folds names as a case-insensitive file system does: ~/.ſsh (long s) and ~/.SSH are ~/.ssh, never captured nor applied', async () => {
    put('a', '.ſsh/config', 'Host *\n');
    put('a', '.SSH/config', 'Host *\n');
    for (const path of ['~/.ſsh/config', '~/.ſsh', '~/.SSH']) {
      const r = await envCmd('a', ['capture', 'folded', '--add', path]);
      expect(r.code, `${path}: ${r.stdout}`).toBe(2);
      expect(errorOf(r)).toMatchObject({ code: 'ENV_TARGET_REFUSED', message: expect.stringMatching(/: it is never synced: \.ssh holds credentials/) });
    }
    // In a folder captured whole, Claude Code's session data under a folded name is left out too.
    put('a', '.claude/ſtatſig/cache.json', '{}\n');
    put('a', '.claude/PROJECTS/p/session.jsonl', '{}\n');
    const folder = await envCmd('a', ['capture', 'folded', '--add', '~/.claude']);
    ok(folder);
    expect(json<Capture>(folder).skipped).toEqual(expect.arrayContaining([
      { target: '~/.claude/ſtatſig', reason: expect.stringMatching(/^never synced: Claude Code's session data \(~\/\.claude\/statsig\)/) },
      { target: '~/.claude/PROJECTS', reason: expect.stringMatching(/^never synced: Claude Code's session data \(~\/\.claude\/projects\)/) },
    ]));
    expect(onBus('env/folded/manifest.yaml')).not.toMatch(/ſtatſig|PROJECTS/);

    // Pushed by hand, such entries are refused on b, which keeps its own files.
    put('b', '.SSH/authorized_keys', 'ssh-ed25519 AAAA b\n');
    byHand((work) => {
      plantEntry(work, 'cmds', { source: 'home/.ſsh/config', target: '~/.ſsh/config' }, { source: 'home/.ſsh/config', text: 'Host *\n  ProxyCommand evil\n' });
      plantEntry(work, 'cmds', { source: 'home/.SSH/authorized_keys', target: '~/.SSH/authorized_keys' }, { source: 'home/.SSH/authorized_keys', text: 'ssh-ed25519 AAAA mallory\n' });
    });
    const apply = await envCmd('b', ['apply', 'cmds']);
    ok(apply);
    expect(json<{ results: { written: string[]; skipped: { target: string; kind: string; reason: string }[] }[] }>(apply).results[0]?.skipped).toEqual(expect.arrayContaining([
      { target: '~/.ſsh/config', kind: 'refused', reason: 'never synced: .ssh holds credentials, which never go on the bus' },
      { target: '~/.SSH/authorized_keys', kind: 'refused', reason: 'never synced: .ssh holds credentials, which never go on the bus' },
    ]));
    expect(existsSync(join(fakeHome('b'), '.ſsh'))).toBe(false);
    expect(read('b', '.SSH/authorized_keys')).toBe('ssh-ed25519 AAAA b\n');
  });

  it('never captures nor applies over gitbus\'s bus home in use, wherever GITBUS_HOME puts it under the home (~/work/gb-home), by any name or link', async () => {
    const user = join(bus.dir, 'HOME-c');
    const own = join(user, 'work', 'gb-home');
    const c = (args: string[]) => gitbus([...args, '--json'], { home: own, env: { HOME: user, GIT_CONFIG_NOSYSTEM: '1' } });
    ok(await c(['join', bus.remote, '--node', 'c']));
    const nodeYaml = readFileSync(join(own, 'node.yaml'), 'utf8');
    mkdirSync(join(user, 'work', 'notes'), { recursive: true });
    writeFileSync(join(user, 'work', 'notes', 'todo.md'), 'ship it\n');
    symlinkSync(own, join(user, 'gb'));
    const r = await c(['env', 'capture', 'own', '--add', '~/work']);
    ok(r);
    const got = json<Capture>(r);
    expect(got.files.map((f) => f.target)).toEqual(['~/work/notes/todo.md']);
    expect(got.skipped).toContainEqual({ target: '~/work/gb-home', reason: expect.stringMatching(/^never synced: gitbus's bus home in use \(~\/work\/gb-home: this node's name, clone, state and key\)/) });
    expect(onBus('env/own/manifest.yaml')).not.toMatch(/gb-home/);
    // Named, in another letter case, or through a link: refused, and nothing is written.
    for (const path of ['~/work/gb-home', '~/work/gb-home/node.yaml', join(own, 'state.json'), '~/Work/GB-Home/node.yaml', '~/gb', '~/gb/node.yaml']) {
      const refused = await c(['env', 'capture', 'own', '--add', path]);
      expect(refused.code, `${path}: ${refused.stdout}`).toBe(2);
      expect(errorOf(refused)).toMatchObject({ code: 'ENV_TARGET_REFUSED', message: expect.stringMatching(/: it is never synced: gitbus's bus home in use /) });
    }
    expect(onBus('env/own/manifest.yaml')).not.toMatch(/gb-home|~\/gb\b/);

    // Pushed by hand, an entry for it is refused on c, whose node.yaml stays its own.
    writeFileSync(join(user, '.zshrc'), 'alias gs="git status"\n');
    ok(await c(['env', 'capture', 'rc', '--add', '~/.zshrc']));
    byHand((work) => plantEntry(work, 'rc', { source: 'home/work/gb-home/node.yaml', target: '~/work/gb-home/node.yaml' }, { source: 'home/work/gb-home/node.yaml', text: 'node: mallory\n' }));
    const apply = await c(['env', 'apply', 'rc', '--force']);
    ok(apply);
    expect(json<{ results: { written: string[]; skipped: { target: string; kind: string; reason: string }[] }[] }>(apply).results[0]?.skipped).toContainEqual({ target: '~/work/gb-home/node.yaml', kind: 'refused', reason: expect.stringMatching(/^never synced: gitbus's bus home in use \(~\/work\/gb-home/) });
    expect(readFileSync(join(own, 'node.yaml'), 'utf8')).toBe(nodeYaml);
  });
});
