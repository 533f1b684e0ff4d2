import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitbus, json } from '../helpers/cli.js';
import { envFleet, type EnvBus, type Node } from '../helpers/env-fleet.js';

/**
 * What `gitbus env` tells a user following README "Keeping every node's setup in step" (test/helpers/env-fleet.ts:
 * nodes a and b, fake HOMEs, a real bare remote, the CLI): every hint names the profile, not a placeholder; the
 * default profile leaves out ~/.gitconfig, which holds each machine's git identity, and says how to add it; a file
 * that differs on each machine by nature is offered --variant node wherever it is a conflict.
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
});
