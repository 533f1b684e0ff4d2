import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitbus, json } from '../helpers/cli.js';
import { envFleet, type EnvBus, type Node } from '../helpers/env-fleet.js';

/**
 * What `gitbus env` tells a user following README "Keeping every node's setup in step" (test/helpers/env-fleet.ts:
 * nodes a and b, fake HOMEs, a real bare remote, the CLI): every hint names the profile, not a placeholder; the
 * default profile leaves out ~/.gitconfig, which holds each machine's git identity, and says how to add it; a file
 * that differs on each machine by nature is offered --variant node wherever it is a conflict; a top-level key added
 * to settings.json after the first capture, which the profile does not manage, is named with the --keys that adds it.
 */

const fleet = envFleet();
const { envOf, cli, envCmd, put, read, onBus, byHand, editNode, states, ok, errorOf } = fleet;
let bus: EnvBus;

beforeAll(async () => {
  bus = await fleet.start();
}, 30_000);

afterAll(() => fleet.stop());

/** The CLI's words, as a person reads them (fleet.cli asks for --json). */
const words = (n: Node, args: string[]) => gitbus(args, { home: bus.home(n), env: envOf(n) });

type Held = { profiles: { files: { target: string; state: string; held?: string }[]; fix: string | null }[] };

describe('gitbus env hints', () => {
  it('names the profile in the fix for a file changed here and for a profile that must be captured again, never "PROFILE"', async () => {
    put('a', '.zshrc', 'export EDITOR=vi\n');
    ok(await envCmd('a', ['capture', 'shell', '--add', '~/.zshrc']));
    ok(await envCmd('b', ['apply', 'shell']));
    put('b', '.zshrc', 'export EDITOR=emacs\n');
    const status = json<Held>(await envCmd('b', ['status', 'shell'])).profiles[0];
    const zshrc = status?.files.find((f) => f.target === '~/.zshrc');
    expect(zshrc?.state).toBe('changed-here');
    expect(zshrc?.held).toMatch(/"gitbus env capture shell"/);
    expect(zshrc?.held).not.toMatch(/\bPROFILE\b/);
    const human = await words('b', ['env', 'apply', 'shell']);
    expect(human.code).toBe(5);
    expect(human.stdout).toMatch(/"gitbus env capture shell"/);
    expect(human.stdout).not.toMatch(/\bPROFILE\b/);

    // A file changed on the bus behind the manifest's back: the profile is invalid until captured again, by name.
    byHand((work) => writeFileSync(join(work, 'env/shell/files/home/.zshrc'), 'export EDITOR=nano\n'));
    const invalid = await envCmd('b', ['status', 'shell']);
    expect(invalid.code).toBe(8);
    const fix = JSON.stringify(json(invalid));
    expect(fix).toMatch(/gitbus env capture shell/);
    expect(fix).not.toMatch(/\bPROFILE\b/);
    const lint = await words('b', ['lint']);
    expect(lint.stdout + lint.stderr).toMatch(/gitbus env capture shell/);
    expect(lint.stdout + lint.stderr).not.toMatch(/\bPROFILE\b/);
  });

  it('a new profile without --add leaves out ~/.gitconfig (each machine\'s git identity), naming it and the commands that add it', async () => {
    put('a', '.claude/CLAUDE.md', '# house rules\n');
    put('a', '.gitconfig', '[user]\n\tname = Ann\n\temail = ann@a.example\n');
    const r = await envCmd('a', ['capture', 'defaults']);
    ok(r);
    const got = json<{ files: { target: string }[]; notInDefault: { target: string; why: string; share: string; own: string }[] }>(r);
    expect(got.files.map((f) => f.target)).not.toContain('~/.gitconfig');
    expect(onBus('env/defaults/manifest.yaml')).not.toMatch(/gitconfig/);
    expect(got.notInDefault).toEqual([{ target: '~/.gitconfig', why: expect.stringMatching(/git identity/), share: 'gitbus env capture defaults --add ~/.gitconfig', own: 'gitbus env capture defaults --add ~/.gitconfig --variant node' }]);
    // Said in words too, and only when the profile is made: a later capture takes its entries again.
    put('a', '.claude/CLAUDE.md', '# house rules\nbe brief\n');
    const human = await words('a', ['env', 'capture', 'defaults']);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).not.toMatch(/gitconfig/);
    const fresh = await words('a', ['env', 'capture', 'defaults2']);
    expect(fresh.stdout).toMatch(/~\/\.gitconfig: not in the default set: it holds this machine's git identity.*"gitbus env capture defaults2 --add ~\/\.gitconfig".*"gitbus env capture defaults2 --add ~\/\.gitconfig --variant node"/);
  });

  it('a file that differs on each machine is offered --variant node in status, apply, doctor and a refused capture, which keeps each node\'s own', async () => {
    put('a', '.gitconfig', '[user]\n\tname = Ann\n\temail = ann@a.example\n');
    ok(await envCmd('a', ['capture', 'git', '--add', '~/.gitconfig']));
    put('b', '.gitconfig', '[user]\n\tname = Bob\n\temail = bob@b.example\n');
    const own = '"gitbus env capture git --add ~/.gitconfig --variant node"';
    const held = json<Held>(await envCmd('b', ['status', 'git'])).profiles[0]?.files.find((f) => f.target === '~/.gitconfig');
    expect(held).toMatchObject({ state: 'conflict', held: expect.stringContaining(own) });
    const apply = await words('b', ['env', 'apply', 'git']);
    expect(apply.code).toBe(5);
    expect(apply.stdout).toContain(own);
    editNode('b', (c) => (c['env'] = [{ profile: 'git', apply: 'manual' }]));
    const doctor = json<{ checks: { name: string; status: string; fix?: string }[] }>(await cli('b', ['doctor'])).checks.find((c) => c.name === 'env.git');
    expect(doctor).toMatchObject({ status: 'warn', fix: expect.stringContaining(own) });

    // b took a's once; both changed since: the refused capture offers the same.
    ok(await envCmd('b', ['apply', 'git', '--force']));
    put('b', '.gitconfig', '[user]\n\tname = Bob\n\temail = bob@b.example\n');
    put('a', '.gitconfig', '[user]\n\tname = Ann\n\temail = ann@a.example\n[alias]\n\tst = status\n');
    ok(await envCmd('a', ['capture', 'git']));
    const refused = await envCmd('b', ['capture', 'git']);
    expect(refused.code).toBe(5);
    expect(errorOf(refused)).toMatchObject({ code: 'ENV_CAPTURE_CONFLICT', fix: expect.stringContaining(own) });

    // Following it: b's identity is b's, in the profile for b alone; a's stays the common one, and nobody's file changed.
    ok(await envCmd('b', ['capture', 'git', '--add', '~/.gitconfig', '--variant', 'node']));
    expect(await states('b', 'git')).toEqual({ '~/.gitconfig': 'in-sync' });
    expect(await states('a', 'git')).toEqual({ '~/.gitconfig': 'in-sync' });
    expect(onBus('env/git/files/home/.gitconfig')).toMatch(/Ann/);
    expect(onBus('env/git/files/node/b/.gitconfig')).toMatch(/Bob/);
    expect(read('b', '.gitconfig')).toMatch(/Bob/);
    expect(read('a', '.gitconfig')).toMatch(/Ann/);
  });

  it('names each key of settings.json the profile does not manage, with the exact --keys command that adds them, and that command adds them', async () => {
    const settings = (extra: Record<string, unknown>) => put('a', '.claude/settings.json', `${JSON.stringify({ model: 'opus', hooks: { Stop: [] }, extraKnownMarketplaces: { x: { source: { source: 'directory', path: '/opt/a' } } }, ...extra }, null, 2)}\n`);
    settings({});
    ok(await envCmd('a', ['capture', 'keys', '--add', '~/.claude/settings.json']));
    type Left = { files: { target: string; changed: boolean }[]; keysLeftOut: { target: string; keys: string[]; managed: string[]; command?: string }[] };
    // Nothing left out but the marketplaces, which name one machine's folders and are never offered.
    expect(json<Left>(await envCmd('a', ['capture', 'keys'])).keysLeftOut).toEqual([]);

    settings({ statusLine: { type: 'command', command: 'echo hi' }, env: { EDITOR: 'vi' } });
    const command = 'gitbus env capture keys --add ~/.claude/settings.json --keys model,hooks,statusLine,env';
    const same = json<Left>(await envCmd('a', ['capture', 'keys']));
    expect(same.files).toEqual([expect.objectContaining({ target: '~/.claude/settings.json', changed: false })]);
    expect(same.keysLeftOut).toEqual([{ target: '~/.claude/settings.json', keys: ['statusLine', 'env'], managed: ['model', 'hooks'], command }]);
    // Also where another key changed, and in words.
    settings({ model: 'sonnet', statusLine: { type: 'command', command: 'echo hi' }, env: { EDITOR: 'vi' } });
    const human = await words('a', ['env', 'capture', 'keys']);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/changed +~\/\.claude\/settings\.json/);
    expect(human.stdout).toContain(`~/.claude/settings.json: statusLine, env are not in the profile`);
    expect(human.stdout).toContain(`"${command}"`);
    expect(human.stdout).not.toMatch(/extraKnownMarketplaces/);
    expect(JSON.parse(onBus('env/keys/files/home/.claude/settings.json') ?? '{}')).toEqual({ model: 'sonnet', hooks: { Stop: [] } });

    // The command adds them: other nodes get them, and nothing is left out any more.
    const added = await envCmd('a', command.split(' ').slice(2));
    ok(added);
    expect(json<Left>(added).keysLeftOut).toEqual([]);
    expect(JSON.parse(onBus('env/keys/files/home/.claude/settings.json') ?? '{}')).toEqual({ model: 'sonnet', hooks: { Stop: [] }, statusLine: { type: 'command', command: 'echo hi' }, env: { EDITOR: 'vi' } });
  });

  it('names keys a folder entry leaves out, with how to choose them (a folder entry has no --keys)', async () => {
    const settings = (extra: Record<string, unknown>) => put('a', '.claude/settings.json', `${JSON.stringify({ model: 'opus', ...extra }, null, 2)}\n`);
    settings({});
    ok(await envCmd('a', ['capture', 'folder', '--add', '~/.claude']));
    settings({ outputStyle: 'terse' });
    const r = await envCmd('a', ['capture', 'folder']);
    ok(r);
    expect(json<{ keysLeftOut: unknown[] }>(r).keysLeftOut).toEqual([{ target: '~/.claude/settings.json', keys: ['outputStyle'], managed: ['model'], folder: '~/.claude' }]);
    const human = await words('a', ['env', 'capture', 'folder']);
    expect(human.stdout).toMatch(/~\/\.claude\/settings\.json: outputStyle is not in the profile.*a folder entry \(~\/\.claude\) keeps the keys its first capture took/);
  });
});
