import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { gitbus, json } from '../helpers/cli.js';
import { envFleet, SETTINGS_A, type EnvBus } from '../helpers/env-fleet.js';
import { startWatcher } from '../helpers/watcher-process.js';
import { until } from '../helpers/wait.js';

/**
 * Environment sync (issue 12), the everyday flow: two nodes with bus homes and fake HOMEs of their own, a real
 * bare remote, the CLI, and a watcher as a process (test/helpers/env-fleet.ts). Node a captures its Claude Code and
 * shell setup into profile "claude" (secrets are refused); node b applies it (a file it had is a conflict until
 * --force; settings.json is merged by keys, b's own keys kept), edits locally (a conflict, never overwritten
 * silently), gets its file back from the backup, publishes drift that `status` and `doctor` show, its watcher
 * applies a change pushed to the bus, and a capture never undoes another node's change. Odd files are in
 * env-sync-odd-files.test.ts, signed profiles in env-sync-trust.test.ts.
 */

const fleet = envFleet();
const { children, fakeHome, envOf, cli, envCmd, put, read, onBus, busFiles, editNode, states, ok, errorOf } = fleet;
let bus: EnvBus;

beforeAll(async () => {
  bus = await fleet.start();
  fleet.seedHomes();
}, 30_000);

afterAll(() => fleet.stop());

describe('gitbus env', () => {
  it('refuses to capture what looks like a secret, naming the file and line, and writes nothing', async () => {
    put('a', '.zshrc', 'export PATH="$HOME/bin:$PATH"\nexport GITHUB_TOKEN=ghp_0123456789abcdefghijklmnopqrstuvwxyzAB\n');
    put('a', '.claude/commands/deploy.env', 'X=1\n');
    const r = await envCmd('a', ['capture', 'claude']);
    expect(r.code).toBe(8);
    const e = errorOf(r);
    expect(e.code).toBe('ENV_SECRET');
    expect(e.message).toMatch(/~\/\.zshrc:2 \(a GitHub personal access token/);
    expect(e.message).toMatch(/~\/\.claude\/commands\/deploy\.env \(a \.env file/);
    expect(e.fix).toMatch(/take the secret out of the file/);
    expect(busFiles()).toEqual([]);
  });

  it('a profile the bus does not have is ENV_NO_PROFILE (exit 4) for status, diff and apply alike', async () => {
    for (const sub of ['status', 'diff', 'apply']) {
      const r = await envCmd('b', [sub, 'nosuch']);
      expect(r.code, `env ${sub}: ${r.stderr}`).toBe(4);
      expect(errorOf(r).code).toBe('ENV_NO_PROFILE');
    }
  });

  it('captures this machine\'s setup into a profile, leaving out what is never synced', async () => {
    put('a', '.zshrc', 'export PATH="$HOME/bin:$PATH"\nexport GITHUB_TOKEN="$(cat ~/.config/tokens/github)"\n');
    execFileSync('rm', [join(fakeHome('a'), '.claude/commands/deploy.env')]);
    const r = await envCmd('a', ['capture', 'claude']);
    ok(r);
    // ~/.gitconfig holds a's git identity: left out of a new profile, and named with the commands that add it.
    const got = json<{ files: { target: string }[]; notInDefault: { target: string }[] }>(r);
    expect(got.files.map((f) => f.target).sort()).toEqual(['~/.claude/CLAUDE.md', '~/.claude/commands/review.md', '~/.claude/settings.json', '~/.zshrc']);
    expect(got.notInDefault.map((n) => n.target)).toEqual(['~/.gitconfig']);
    const files = busFiles();
    expect(files).toContain('env/claude/manifest.yaml');
    expect(files.some((f) => /settings\.local|projects|\.claude\.json/.test(f))).toBe(false);
    // settings.json holds the keys the profile manages; the marketplace names a folder of machine a and stays there.
    expect(JSON.parse(onBus('env/claude/files/home/.claude/settings.json') ?? '{}')).toEqual({ model: 'opus', hooks: SETTINGS_A.hooks });
  });

  it('applies it on another node: a file b had is a conflict until --force, which merges settings.json keeping b\'s keys and backs up the old one', async () => {
    expect(await states('b')).toMatchObject({ '~/.claude/CLAUDE.md': 'missing-here', '~/.claude/settings.json': 'conflict', '~/.zshrc': 'missing-here' });
    const first = await envCmd('b', ['apply', 'claude']);
    expect(first.code).toBe(5);
    const held = json<{ results: { written: string[]; held: { target: string }[] }[] }>(first).results[0];
    expect(held?.written).toContain('~/.claude/CLAUDE.md');
    expect(held?.held.map((h) => h.target)).toEqual(['~/.claude/settings.json']);
    expect(JSON.parse(read('b', '.claude/settings.json'))).toMatchObject({ model: 'sonnet' });
    const forced = await envCmd('b', ['apply', 'claude', '--force']);
    ok(forced);
    expect(json<{ results: { backup: string | null }[] }>(forced).results[0]?.backup).toMatch(/^\d{8}-\d{6}-\d{3}/);
    expect(JSON.parse(read('b', '.claude/settings.json'))).toEqual({ permissions: { allow: ['Bash(make:*)'] }, model: 'opus', hooks: SETTINGS_A.hooks });
    expect(read('b', '.claude/CLAUDE.md')).toBe('# house rules\nbe brief\n');
    expect(Object.values(await states('b')).every((s) => s === 'in-sync')).toBe(true);
    // A key b adds later is b's own: not drift.
    put('b', '.claude/settings.json', `${JSON.stringify({ ...JSON.parse(read('b', '.claude/settings.json')), theme: 'dark' }, null, 2)}\n`);
    expect((await states('b'))['~/.claude/settings.json']).toBe('in-sync');
  });

  it('a local edit becomes a conflict, never overwritten silently; restore puts back what apply replaced, refusing to clobber later edits', async () => {
    put('a', '.zshrc', 'export PATH="$HOME/bin:$PATH"\nalias gs="git status"\n');
    ok(await envCmd('a', ['capture', 'claude']));
    put('b', '.zshrc', 'export PATH="$HOME/bin:$PATH"\nalias ll="ls -l"\n');
    expect((await states('b'))['~/.zshrc']).toBe('conflict');
    const diff = await envCmd('b', ['diff', 'claude']);
    ok(diff);
    expect(json<{ profiles: { files: { target: string; diff: string }[] }[] }>(diff).profiles[0]?.files.find((f) => f.target === '~/.zshrc')?.diff).toMatch(/-alias ll="ls -l"\n\+alias gs="git status"/);
    expect((await envCmd('b', ['apply', 'claude'])).code).toBe(5);
    expect(read('b', '.zshrc')).toMatch(/alias ll/);
    const forced = await envCmd('b', ['apply', 'claude', '--force']);
    ok(forced);
    const backup = json<{ results: { backup: string }[] }>(forced).results[0]?.backup ?? '';
    expect(read('b', '.zshrc')).toMatch(/alias gs/);
    put('b', '.zshrc', 'export PATH="$HOME/bin:$PATH"\nalias gs="git status"\nalias later=1\n');
    const refused = await envCmd('b', ['restore', backup]);
    expect(refused.code).toBe(5);
    expect(errorOf(refused).code).toBe('ENV_RESTORE_CONFLICT');
    expect(read('b', '.zshrc')).toMatch(/alias later/);
    const restored = await envCmd('b', ['restore', backup, '--force']);
    ok(restored);
    expect(json<{ files: { target: string; action: string }[]; backup: string }>(restored)).toMatchObject({ files: [{ target: '~/.zshrc', action: 'restored' }], backup: expect.any(String) });
    expect(read('b', '.zshrc')).toBe('export PATH="$HOME/bin:$PATH"\nalias ll="ls -l"\n');
    expect((await states('b'))['~/.zshrc']).toBe('changed-here');
  });

  it('a subscribed node publishes its drift: status shows the fleet\'s, doctor checks it', async () => {
    editNode('b', (c) => (c['env'] = [{ profile: 'claude', apply: 'manual' }]));
    // b's own file, in the profile for b alone (a node's variant).
    put('b', '.config/starship.toml', 'format = "$all"\n');
    ok(await envCmd('b', ['capture', 'claude', '--add', '~/.config/starship.toml', '--variant', 'node']));
    expect(onBus('env/claude/manifest.yaml')).toMatch(/- source: node\/b\/\.config\/starship\.toml\n\s+target: ~\/\.config\/starship\.toml\n\s+nodes: \[ ?b ?\]/);
    // Captured again without --variant, it stays b's: its filter is kept with its source.
    put('b', '.config/starship.toml', 'format = "$directory"\n');
    ok(await envCmd('b', ['capture', 'claude', '--add', '~/.config/starship.toml']));
    expect(onBus('env/claude/manifest.yaml')).not.toMatch(/source: home\/\.config\/starship\.toml/);
    expect(onBus('env/claude/manifest.yaml')).toMatch(/- source: node\/b\/\.config\/starship\.toml\n\s+target: ~\/\.config\/starship\.toml\n\s+nodes: \[ ?b ?\]/);
    expect((await states('a'))['~/.config/starship.toml']).toBeUndefined();
    expect((await envCmd('b', ['apply'])).code).toBe(5);
    const s = await cli('a', ['status']);
    ok(s);
    const card = json<{ nodes: { node: string; card?: { env?: { profile: string; apply: string; counts: Record<string, number>; drift?: { target: string; state: string }[] }[] } }[] }>(s).nodes.find((n) => n.node === 'b')?.card;
    expect(card?.env?.[0]).toMatchObject({ profile: 'claude', apply: 'manual', drift: [{ target: '~/.zshrc', state: 'changed-here' }] });
    const human = await gitbus(['status'], { home: bus.home('a'), env: envOf('a') });
    expect(human.stdout).toMatch(/env claude \(manual\): 4 in sync, 1 changed here: ~\/\.zshrc changed here/);
    const doctor = await cli('b', ['doctor']);
    const check = json<{ checks: { name: string; status: string; detail: string }[] }>(doctor).checks.find((c) => c.name === 'env.claude');
    expect(check).toMatchObject({ status: 'warn', detail: expect.stringMatching(/1 changed here \(~\/\.zshrc changed-here\)/) });
  });

  it('the watcher applies a change pushed to the bus (apply: auto), and leaves a file changed here as it is', async () => {
    editNode('b', (c) => (c['env'] = [{ profile: 'claude', apply: 'auto' }]));
    const w = startWatcher(bus.home('b'), ['--poll', '1s'], children, envOf('b'));
    await until('the watcher to start', () => w.events().some((e) => e.type === 'started'), 15_000, w.stderr);
    put('a', '.claude/CLAUDE.md', '# house rules\nbe brief\nrun the tests\n');
    ok(await envCmd('a', ['capture', 'claude']));
    await until('b to get the new CLAUDE.md', () => read('b', '.claude/CLAUDE.md').includes('run the tests'), 20_000, () => `${JSON.stringify(w.events())}\n${w.stderr()}`);
    await until('the applied event', () => w.events().some((e) => e.type === 'env-applied'), 5_000, () => JSON.stringify(w.events()));
    expect(w.events().find((e) => e.type === 'env-applied')).toMatchObject({ profile: 'claude', written: ['~/.claude/CLAUDE.md'], narrowed: [], leftovers: [] });
    expect(w.events().find((e) => e.type === 'env-held')).toMatchObject({ profile: 'claude', files: [{ target: '~/.zshrc', state: 'changed-here' }] });
    expect(read('b', '.zshrc')).toMatch(/alias ll/);
    w.child.kill('SIGTERM');
    expect(await w.exited).toBe(0);
  });

  it('a capture never undoes another node\'s change: a stale file is left as the bus has it, one changed on both sides is refused', async () => {
    put('a', '.claude/commands/review.md', 'review the diff\ncheck the tests\n');
    put('a', '.claude/CLAUDE.md', '# house rules\nbe brief\nrun the tests\nsay why\n');
    ok(await envCmd('a', ['capture', 'claude']));
    put('b', '.claude/CLAUDE.md', '# house rules\nbe very brief\n');
    const both = await envCmd('b', ['capture', 'claude']);
    expect(both.code).toBe(5);
    expect(errorOf(both)).toMatchObject({ code: 'ENV_CAPTURE_CONFLICT', message: expect.stringMatching(/~\/\.claude\/CLAUDE\.md changed both here and in the bus/) });
    expect(onBus('env/claude/files/home/.claude/CLAUDE.md')).toMatch(/say why/);
    const stale = await envCmd('b', ['capture', 'claude', '--add', '~/.claude/commands']);
    ok(stale);
    expect(json<{ newer: string[]; files: unknown[] }>(stale)).toMatchObject({ newer: ['~/.claude/commands/review.md'], files: [] });
    expect(onBus('env/claude/files/home/.claude/commands/review.md')).toMatch(/check the tests/);
    // A file a deletes from a synced folder leaves the profile, and the nodes that have it as they got it (rsync --delete).
    execFileSync('rm', [join(fakeHome('a'), '.claude/commands/review.md')]);
    put('a', '.claude/commands/plan.md', 'plan first\n');
    const gone = await envCmd('a', ['capture', 'claude']);
    ok(gone);
    expect(json<{ removed: string[] }>(gone).removed).toEqual(['~/.claude/commands/review.md']);
    const applied = await envCmd('b', ['apply']);
    expect(applied.code).toBe(5);
    expect(json<{ results: { written: string[]; removed: string[] }[] }>(applied).results[0]).toMatchObject({ written: ['~/.claude/commands/plan.md'], removed: ['~/.claude/commands/review.md'] });
    expect(existsSync(join(fakeHome('b'), '.claude/commands/review.md'))).toBe(false);
    expect(read('b', '.claude/CLAUDE.md')).toMatch(/be very brief/);
  });

  it('--keys on an existing profile changes the keys of its file merged by keys; with a file written whole it is refused (exit 2), never dropped', async () => {
    put('a', '.claude/settings.json', `${JSON.stringify(SETTINGS_A, null, 2)}\n`);
    ok(await envCmd('a', ['capture', 'keyed', '--add', '~/.claude/settings.json']));
    const keysOnBus = () => (parse(onBus('env/keyed/manifest.yaml') ?? '') as { entries: { keys?: string[] }[] }).entries[0]?.keys;
    expect(keysOnBus()).toEqual(['model', 'hooks']);
    const r = await envCmd('a', ['capture', 'keyed', '--keys', 'hooks']);
    ok(r);
    expect(keysOnBus()).toEqual(['hooks']);
    expect(JSON.parse(onBus('env/keyed/files/home/.claude/settings.json') ?? 'null')).toEqual({ hooks: SETTINGS_A.hooks });
    const whole = await envCmd('a', ['capture', 'keyed', '--add', '~/.gitconfig', '--keys', 'x']);
    expect(whole.code).toBe(2);
    expect(errorOf(whole)).toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(/--keys .*~\/\.gitconfig is written whole/) });
    expect(onBus('env/keyed/manifest.yaml')).not.toContain('gitconfig');
    // A profile without a file merged by keys, or with two, says what to name.
    put('a', '.tmux.conf', 'set -g mouse on\n');
    ok(await envCmd('a', ['capture', 'plain', '--add', '~/.tmux.conf']));
    const none = await envCmd('a', ['capture', 'plain', '--keys', 'hooks']);
    expect(none.code).toBe(2);
    expect(errorOf(none)).toMatchObject({ message: expect.stringMatching(/profile plain has none/), fix: expect.stringMatching(/--add ~\/\.claude\/settings\.json --keys/) });
  });
});
