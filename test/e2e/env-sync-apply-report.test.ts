import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitbus, json } from '../helpers/cli.js';
import { envFleet, type EnvBus } from '../helpers/env-fleet.js';
import { startWatcher } from '../helpers/watcher-process.js';
import { until } from '../helpers/wait.js';

/**
 * Environment sync (issue 12), what `gitbus env` says when it cannot or does not act (test/helpers/env-fleet.ts:
 * nodes a and b, fake HOMEs, a real bare remote, the CLI): a HOME that points nowhere is one clear error, not an fs
 * error per file, a name of 255 bytes is written like any other, a file apply cannot write says its fs error once,
 * and apply lists what it skipped and why.
 */

const fleet = envFleet();
const { fakeHome, envOf, envCmd, cli, put, read, byHand, plantEntry, editNode, ok, errorOf } = fleet;
let bus: EnvBus;

beforeAll(async () => {
  bus = await fleet.start();
  put('a', '.zshrc', 'alias gs="git status"\n');
  put('a', '.gitconfig', '[user]\n\tname = a\n');
  ok(await envCmd('a', ['capture', 'claude', '--add', '~/.zshrc', '--add', '~/.gitconfig']));
}, 30_000);

const mounts: string[] = [];
afterAll(() => {
  for (const m of mounts) spawnSync('umount', ['-l', m], { timeout: 10_000 });
  return fleet.stop();
});

/**
 * Makes `dir` a folder no file can be written in: without write permission, or for root (whom permissions do not
 * stop) a read-only tmpfs mounted there. False where neither works (CI must be able to).
 */
function unwritable(dir: string): boolean {
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o555);
  try {
    writeFileSync(join(dir, 'probe'), '');
    rmSync(join(dir, 'probe'));
  } catch {
    return true;
  }
  chmodSync(dir, 0o755);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs', dir], { stdio: 'ignore', timeout: 10_000 });
  } catch {
    if (process.env['CI'] === 'true') throw new Error('cannot make a folder unwritable here (root, and no tmpfs may be mounted): CI must run the fs error test');
    return false;
  }
  mounts.push(dir);
  return true;
}

describe('gitbus env', () => {
  it('with HOME missing, not a folder or relative, every command says so and how to fix it, and writes nothing', async () => {
    const nowhere = join(bus.dir, 'HOME-nowhere');
    const aFile = join(bus.dir, 'HOME-a-file');
    writeFileSync(aFile, 'not a folder\n');
    const cases: { home: string; args: string[]; why: RegExp }[] = [
      { home: nowhere, args: ['apply', 'claude'], why: /which does not exist/ },
      { home: nowhere, args: ['capture', 'claude'], why: /which does not exist/ },
      { home: join(aFile, 'below'), args: ['status', 'claude'], why: /which does not exist/ },
      { home: aFile, args: ['diff', 'claude'], why: /which is not a folder/ },
      { home: 'HOME-rel', args: ['apply', 'claude'], why: /which is not an absolute path/ },
      { home: nowhere, args: ['restore'], why: /which does not exist/ },
    ];
    for (const c of cases) {
      const r = await gitbus(['env', ...c.args, '--json'], { home: bus.home('b'), env: { HOME: c.home, GIT_CONFIG_NOSYSTEM: '1' }, cwd: bus.dir });
      expect(r.code, `env ${c.args.join(' ')} with HOME=${c.home}: ${r.stdout}${r.stderr}`).toBe(7);
      expect(errorOf(r)).toMatchObject({ code: 'ENV_HOME_MISSING', message: expect.stringMatching(new RegExp(`^HOME is ${JSON.stringify(c.home).replace(/[/.]/g, '\\$&')}, ${c.why.source}`)), fix: expect.stringMatching(/^set HOME to your home folder, an absolute path that exists/) });
    }
    expect(existsSync(nowhere)).toBe(false);
    expect(existsSync(join(bus.dir, 'HOME-rel'))).toBe(false);
    // In words, for a person: one error naming HOME, no fs code.
    const human = await gitbus(['env', 'apply', 'claude'], { home: bus.home('b'), env: { HOME: nowhere, GIT_CONFIG_NOSYSTEM: '1' } });
    expect(human.stderr).toMatch(/^gitbus: HOME is ".*HOME-nowhere", which does not exist: gitbus env has no home folder to read or write profiles in\n {2}fix: set HOME/);
    expect(human.stderr).not.toMatch(/ENOENT/);
  });

  it('with HOME missing, doctor fails env.home with the fix, and the watcher says so once, goes on with its tasks and applies once the home is there', async () => {
    const late = join(bus.dir, 'HOME-late');
    const env = { HOME: late, GIT_CONFIG_NOSYSTEM: '1' };
    let runners: unknown;
    editNode('b', (c) => {
      runners = c['runners'];
      c['env'] = [{ profile: 'claude', apply: 'auto' }];
      c['runners'] = ['shell'];
    });
    try {
      type Checks = { checks: { name: string; status: string; detail: string; fix?: string }[] };
      const doctor = await gitbus(['doctor', '--json'], { home: bus.home('b'), env, cwd: bus.dir });
      expect(doctor.code, doctor.stderr).toBe(7);
      const checks = json<Checks>(doctor).checks.filter((c) => c.name.startsWith('env.'));
      expect(checks).toEqual([
        { name: 'env.home', status: 'fail', detail: expect.stringMatching(/^HOME is ".*HOME-late", which does not exist: gitbus env has no home folder to read or write profiles in; profile claude cannot be looked at or applied here$/), fix: expect.stringMatching(/^set HOME to your home folder/) },
        expect.objectContaining({ name: 'env.claude', status: 'skip' }),
      ]);
      const words = await gitbus(['doctor'], { home: bus.home('b'), env, cwd: bus.dir });
      expect(words.stdout).toMatch(/^FAIL +env\.home +HOME is ".*HOME-late", which does not exist.*\n +fix: set HOME to your home folder/m);

      const w = startWatcher(bus.home('b'), ['--poll', '1s', '--no-serve'], fleet.children, env);
      const explain = () => `${JSON.stringify(w.events())}\n${w.stderr()}`;
      await until('the watcher to say HOME is missing', () => w.events().some((e) => e.type === 'env-home-missing'), 20_000, explain);
      expect(w.events().find((e) => e.type === 'env-home-missing')).toMatchObject({ code: 'ENV_HOME_MISSING', profiles: ['claude'], reason: expect.stringMatching(/^HOME is ".*HOME-late", which does not exist/), fix: expect.stringMatching(/^set HOME to your home folder/) });
      // The fleet sees why on b's card.
      type Status = { nodes: { node: string; card?: { env?: { profile: string; problem?: string }[] } }[] };
      const problemOnCard = async () => json<Status>(await cli('a', ['status'])).nodes.find((n) => n.node === 'b')?.card?.env?.[0]?.problem ?? '';
      await until('b\'s card to say HOME is missing', async () => /^no home folder: HOME is ".*HOME-late", which does not exist/.test(await problemOnCard()), 20_000, explain);

      // The profile changes on the bus, so the watcher looks again; a task dispatched after that is claimed at a wake
      // whose housekeeping (env first) saw the change, and runs: the watcher goes on with its other work.
      put('a', '.zshrc', 'alias gs="git status"\nalias gd="git diff"\n');
      ok(await envCmd('a', ['capture', 'claude']));
      const id = await bus.dispatch('a', ['while HOME is missing', '--command', 'true', '--to', 'b']);
      await until('b to run the task', () => w.events().some((e) => e.type === 'finished' && e.id === id), 30_000, explain);
      expect(w.events().find((e) => e.type === 'finished' && e.id === id)).toMatchObject({ status: 'succeeded' });
      expect(w.events().filter((e) => e.type === 'env-home-missing')).toHaveLength(1);
      expect(w.events().filter((e) => e.type === 'env-held' || e.type === 'env-applied' || e.type === 'error')).toEqual([]);
      expect(existsSync(late)).toBe(false);

      // The home made, the next look applies the profile there.
      mkdirSync(late);
      put('a', '.zshrc', 'alias gs="git status"\n');
      ok(await envCmd('a', ['capture', 'claude']));
      await until('b to apply the profile in its home', () => w.events().some((e) => e.type === 'env-applied'), 30_000, explain);
      expect(readFileSync(join(late, '.zshrc'), 'utf8')).toBe('alias gs="git status"\n');
      await until('b\'s card to drop the problem', async () => (await problemOnCard()) === '', 20_000, explain);
      w.child.kill('SIGTERM');
      expect(await w.exited).toBe(0);
    } finally {
      editNode('b', (c) => {
        delete c['env'];
        if (runners === undefined) delete c['runners'];
        else c['runners'] = runners;
      });
    }
  });

  it('a file whose name is 255 bytes long, the most a name may be, is applied: the temp file beside it has a short name', async () => {
    const long = 'n'.repeat(255);
    // 127 two-byte letters and one more: 255 bytes in UTF-8.
    const wide = `${'é'.repeat(127)}n`;
    expect(Buffer.byteLength(wide)).toBe(255);
    put('a', long, 'long\n');
    put('a', `.config/${wide}`, 'wide\n');
    ok(await envCmd('a', ['capture', 'claude', '--add', `~/${long}`, '--add', `~/.config/${wide}`]));
    const r = await envCmd('b', ['apply', 'claude']);
    ok(r);
    const done = json<{ results: { written: string[]; held: unknown[] }[] }>(r).results[0];
    expect(done?.held).toEqual([]);
    expect(done?.written.sort()).toEqual(['~/.config/' + wide, '~/.gitconfig', '~/.zshrc', `~/${long}`].sort());
    expect(read('b', long)).toBe('long\n');
    expect(read('b', `.config/${wide}`)).toBe('wide\n');
    // No staged copy is left beside them.
    for (const dir of ['', '.config']) expect(readdirSync(join(fakeHome('b'), dir)).filter((n) => n.includes('gitbus')), dir).toEqual([]);
    expect((await fleet.states('b'))[`~/${long}`]).toBe('in-sync');
  });

  it('a file apply cannot write is left with its fs error said once', async (ctx) => {
    put('a', 'locked/conf', 'conf\n');
    ok(await envCmd('a', ['capture', 'locked', '--add', '~/locked/conf']));
    const locked = join(fakeHome('b'), 'locked');
    if (!unwritable(locked)) {
      console.warn('fs error test skipped: this user may write anywhere and cannot mount a read-only tmpfs');
      ctx.skip();
    }
    const r = await envCmd('b', ['apply', 'locked']);
    expect(r.code, r.stdout).toBe(5);
    const held = json<{ results: { written: string[]; held: { target: string; why: string }[] }[] }>(r).results[0];
    expect(held?.written).toEqual([]);
    expect(held?.held).toEqual([{ target: '~/locked/conf', state: 'missing-here', why: expect.stringMatching(/^it could not be changed: (EACCES|EROFS): [a-z -]+, [a-z]+ '/) }]);
    expect(held?.held[0]?.why).not.toMatch(/^it could not be changed: (E[A-Z]+): \1/);
    expect(readdirSync(locked)).toEqual([]);
  });

  it('apply lists each entry it skipped and why: refused here, not for this node, unchanged; in --json and in words', async () => {
    put('a', '.tmux.conf', 'set -g mouse on\n');
    put('a', '.inputrc', 'set editing-mode vi\n');
    ok(await envCmd('a', ['capture', 'mixed', '--add', '~/.tmux.conf']));
    ok(await envCmd('a', ['capture', 'mixed', '--add', '~/.inputrc', '--variant', 'node']));
    byHand((work) => plantEntry(work, 'mixed', { source: 'home/.ssh/config', target: '~/.ssh/config' }, { source: 'home/.ssh/config', text: 'Host *\n' }));
    type Skip = { target: string; kind: string; reason: string };
    type Result = { results: { written: string[]; skipped: Skip[] }[] };
    const refused = { target: '~/.ssh/config', kind: 'refused', reason: expect.stringMatching(/^never synced: \.ssh holds credentials/) };
    const notHere = { target: '~/.inputrc', kind: 'not-for-this-node', reason: expect.stringMatching(/^its entry is for nodes a, not node b \(/) };
    const dry = await envCmd('b', ['apply', 'mixed', '--dry-run']);
    ok(dry);
    expect(json<Result>(dry).results[0]).toMatchObject({ written: ['~/.tmux.conf'], skipped: [refused, notHere] });
    const first = await envCmd('b', ['apply', 'mixed']);
    ok(first);
    expect(json<Result>(first).results[0]).toMatchObject({ written: ['~/.tmux.conf'], skipped: [refused, notHere] });
    const again = await envCmd('b', ['apply', 'mixed']);
    ok(again);
    expect(json<Result>(again).results[0]).toEqual(expect.objectContaining({ written: [], skipped: [refused, notHere, { target: '~/.tmux.conf', kind: 'unchanged', reason: 'in sync: the file here is as the profile has it' }] }));
    const human = await gitbus(['env', 'apply', 'mixed'], { home: bus.home('b'), env: envOf('b') });
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/^ {2}skipped {6}~\/\.ssh\/config \(refused\): never synced: \.ssh holds credentials/m);
    expect(human.stdout).toMatch(/^ {2}skipped {6}~\/\.inputrc \(not for this node\): its entry is for nodes a, not node b/m);
    expect(human.stdout).toMatch(/^ {2}unchanged {4}~\/\.tmux\.conf: in sync/m);
    expect(existsSync(join(fakeHome('b'), '.ssh'))).toBe(false);
    expect(existsSync(join(fakeHome('b'), '.inputrc'))).toBe(false);
  });

  it('status lists the targets that are no file of this node as apply does: refused here, not for this node; in --json and in words', async () => {
    put('a', '.screenrc', 'startup_message off\n');
    put('a', '.vimrc', 'set number\n');
    ok(await envCmd('a', ['capture', 'elsewhere', '--add', '~/.screenrc']));
    ok(await envCmd('a', ['capture', 'elsewhere', '--add', '~/.vimrc', '--variant', 'node']));
    byHand((work) => {
      plantEntry(work, 'elsewhere', { source: 'home/.aws/config', target: '~/.aws/config' }, { source: 'home/.aws/config', text: '[default]\n' });
      plantEntry(work, 'elsewhere', { source: 'mac/.hushlogin', target: '~/.hushlogin', os: ['darwin'] }, { source: 'mac/.hushlogin', text: '' });
    });
    type Status = { profiles: { files: { target: string; state: string }[]; skipped: { target: string; kind: string; reason: string }[] }[] };
    const r = await envCmd('b', ['status', 'elsewhere']);
    ok(r);
    const p = json<Status>(r).profiles[0];
    expect(p?.files.map((f) => [f.target, f.state])).toEqual([['~/.screenrc', 'missing-here']]);
    expect(p?.skipped).toEqual([
      { target: '~/.aws/config', kind: 'refused', reason: expect.stringMatching(/^never synced: \.aws holds credentials/) },
      { target: '~/.vimrc', kind: 'not-for-this-node', reason: expect.stringMatching(/^its entry is for nodes a, not node b \(/) },
      { target: '~/.hushlogin', kind: 'not-for-this-node', reason: expect.stringMatching(/^its entry is for os darwin, not node b \(/) },
    ]);
    const human = await gitbus(['env', 'status', 'elsewhere'], { home: bus.home('b'), env: envOf('b') });
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/^ {2}skipped {12}~\/\.aws\/config \(refused\): never synced: \.aws holds credentials/m);
    expect(human.stdout).toMatch(/^ {2}skipped {12}~\/\.vimrc \(not for this node\): its entry is for nodes a, not node b/m);
    expect(human.stdout).toMatch(/^ {2}skipped {12}~\/\.hushlogin \(not for this node\): its entry is for os darwin, not node b/m);
    // The same list as apply's.
    const applied = json<{ results: { skipped: { target: string; kind: string }[] }[] }>(await envCmd('b', ['apply', 'elsewhere', '--dry-run'])).results[0];
    expect(applied?.skipped.map((s) => [s.target, s.kind])).toEqual(p?.skipped.map((s) => [s.target, s.kind]));
  });
});
