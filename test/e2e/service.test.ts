import { describe, it, expect, afterAll } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gitbus, json, ROOT, tempDir, type RunResult } from '../helpers/cli.js';
import { setting, systemdWords } from '../helpers/systemd-unit.js';
import { bounded, until } from '../helpers/wait.js';
import { startWatcher } from '../helpers/watcher-process.js';

/**
 * `gitbus service` through the real CLI and the real systemctl. Where `systemctl --user` works the unit is
 * installed, started and removed for real; where it does not (containers, SSH sessions without lingering) the
 * documented fallback is checked: the unit file is written and the command exits 7 saying what to run. Either
 * way the unit's own ExecStart line is run as a process to prove it starts the watcher.
 */

function userSystemdWorks(): boolean {
  const env = { ...process.env };
  const runtime = `/run/user/${process.getuid?.() ?? 0}`;
  if (!env['XDG_RUNTIME_DIR'] && existsSync(runtime)) env['XDG_RUNTIME_DIR'] = runtime;
  const r = spawnSync('systemctl', ['--user', 'show-environment'], { env, timeout: 15_000, stdio: 'ignore' });
  return r.status === 0;
}

const SYSTEMD = process.platform === 'linux' && userSystemdWorks();

type ErrorOut = { error: { code: string; message: string; fix: string; data: Record<string, unknown> } };
type Status = { installed: boolean; managerAvailable: boolean; name: string; file: string; loaded: boolean | null; active: boolean | null; logs: { command: string; file: string | null } };

const cleanups: (() => Promise<void>)[] = [];
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const c of cleanups) await c();
});


/** A node in a home whose path has spaces and characters systemd, XML and shells care about. */
async function oddNode(node: string, runners: boolean) {
  const dir = await tempDir('gitbus-svc-');
  cleanups.push(dir.cleanup);
  const home = join(dir.path, `${node} home & <co> $x 50%`);
  const r = await gitbus(['init', '--node', node, '--json'], { home });
  expect(r.code, r.stderr).toBe(0);
  if (runners) writeFileSync(join(home, 'node.yaml'), readFileSync(join(home, 'node.yaml'), 'utf8').replace('runners: []', 'runners: [shell]'));
  return { dir: dir.path, home };
}

function expectNoStack(r: RunResult): void {
  expect(r.stderr).not.toContain('internal error');
  expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
}

/** Runs the unit's ExecStart with its Environment and WorkingDirectory, as systemd would; resolves when "watching as" is printed. */
function runExecStart(unit: string): { child: ChildProcess; started: Promise<string>; exited: Promise<number | null> } {
  const argv = systemdWords(setting(unit, 'ExecStart')[0] ?? '', true);
  const env: NodeJS.ProcessEnv = { HOME: process.env['HOME'] };
  for (const e of setting(unit, 'Environment')) {
    for (const word of systemdWords(e, false)) env[word.slice(0, word.indexOf('='))] = word.slice(word.indexOf('=') + 1);
  }
  const cwd = (setting(unit, 'WorkingDirectory')[0] ?? '').replaceAll('%%', '%');
  const [cmd, ...args] = argv;
  const child = spawn(cmd ?? 'missing', args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  const started = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the unit's ExecStart did not print "watching as" within 30 s\nstdout: ${out}\nstderr: ${err}`)), 30_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('watching as'));
      if (line) {
        clearTimeout(timer);
        resolve(line);
      }
    });
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the unit's ExecStart exited (${code}) before "watching as"\nstdout: ${out}\nstderr: ${err}`));
    });
  });
  started.catch(() => undefined);
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('exit', (code) => resolve(code));
    child.on('error', reject);
  });
  return { child, started, exited };
}

describe.runIf(process.platform === 'linux')('gitbus service (systemd user unit)', () => {
  it('refuses a home without a node and a node without runners, and writes nothing', async () => {
    const units = await tempDir('gitbus-units-');
    cleanups.push(units.cleanup);
    const env = { GITBUS_SERVICE_DIR: units.path };
    const none = await gitbus(['service', 'install', '--json'], { home: join(units.path, 'no-home'), env });
    expect(none.code).toBe(7);
    expect(json<ErrorOut>(none).error.code).toBe('NO_BUS');
    const { home } = await oddNode('idle', false);
    const idle = await gitbus(['service', 'install', '--home', home], { env });
    expect(idle.code).toBe(7);
    expect(idle.stderr).toContain('no runners enabled');
    expect(idle.stderr).toContain('runners: [shell]');
    expectNoStack(idle);
    // A home ending in a backslash: the unit's WorkingDirectory= line would continue into the next setting.
    const slashed = await oddNode('slashed', true);
    const backslashHome = `${slashed.dir}/h3\\`;
    renameSync(slashed.home, backslashHome);
    const bad = await gitbus(['service', 'install', '--json'], { home: backslashHome, env });
    expect(bad.code, bad.stderr).toBe(7);
    expect(json<ErrorOut>(bad).error).toMatchObject({ code: 'SERVICE_BAD_PATH', data: { what: 'bus home', value: backslashHome } });
    expect(json<ErrorOut>(bad).error.message).toContain('ends in a backslash');
    expect(readdirSync(units.path)).toEqual([]);
  });

  it(`install writes a unit for that home (${SYSTEMD ? 'and systemd runs it' : 'and, without a user systemd, says what to run'}); its ExecStart starts the watcher; uninstall removes it`, async () => {
    const units = await tempDir('gitbus-units-');
    cleanups.push(units.cleanup);
    const env = { GITBUS_SERVICE_DIR: units.path };
    const { home } = await oddNode('alpha', true);
    const file = join(units.path, 'gitbus-watch-alpha.service');

    const install = await gitbus(['service', 'install', '--json', '--home', home], { env });
    expectNoStack(install);
    if (SYSTEMD) {
      expect(install.code, install.stderr).toBe(0);
      expect(json<{ name: string; file: string }>(install)).toMatchObject({ name: 'gitbus-watch-alpha.service', file });
      await until('systemd to run the watcher', async () => json<Status>(await gitbus(['service', 'status', '--json', '--home', home], { env })).active === true);
    } else {
      expect(install.code, install.stderr).toBe(7);
      const { error } = json<ErrorOut>(install);
      expect(error.code).toBe('SERVICE_MANAGER_UNAVAILABLE');
      expect(error.data).toMatchObject({ written: true, file, name: 'gitbus-watch-alpha.service' });
      expect(error.message).toContain(`wrote ${file}`);
      for (const text of [install.stderr, error.fix]) {
        expect(text).toContain('loginctl enable-linger $USER');
        expect(text).toContain('systemctl --user daemon-reload');
        expect(text).toContain(`systemctl --user enable --now ${file}`);
      }
      const human = await gitbus(['service', 'install', '--home', home], { env });
      expect(human.code).toBe(7);
      expect(human.stdout).toBe('');
      expect(human.stderr).toMatch(/^gitbus: wrote .*gitbus-watch-alpha\.service, but systemctl --user is not available here/);
      expectNoStack(human);
    }

    expect(statSync(file).mode & 0o777).toBe(0o644);
    const unit = readFileSync(file, 'utf8');
    expect(systemdWords(setting(unit, 'ExecStart')[0] ?? '', true)).toEqual([process.execPath, join(ROOT, 'bin', 'gitbus.js'), 'watch', '--home', home]);
    expect(unit).toContain('journalctl --user -u gitbus-watch-alpha.service');

    const status = await gitbus(['service', 'status', '--json', '--home', home], { env });
    expect(status.code, status.stderr).toBe(0);
    expect(json<Status>(status)).toMatchObject({ installed: true, managerAvailable: SYSTEMD, name: 'gitbus-watch-alpha.service', file, logs: { command: 'journalctl --user -u gitbus-watch-alpha.service -f' } });
    const statusText = await gitbus(['service', 'status', '--home', home], { env });
    expect(statusText.stdout).toContain('journalctl --user -u gitbus-watch-alpha.service');

    // A second node on this machine (another home) gets its own unit next to the first.
    const beta = await oddNode('beta', true);
    const second = await gitbus(['service', 'install', '--json', '--home', beta.home], { env });
    expect(second.code, second.stderr).toBe(SYSTEMD ? 0 : 7);
    expect(readdirSync(units.path).sort()).toEqual(['gitbus-watch-alpha.service', 'gitbus-watch-beta.service']);
    expect(setting(readFileSync(join(units.path, 'gitbus-watch-beta.service'), 'utf8'), 'Environment')[0]).toBe(`"GITBUS_HOME=${beta.home.replaceAll('%', '%%')}"`);
    const offBeta = await gitbus(['service', 'uninstall', '--json', '--home', beta.home], { env });
    expect(offBeta.code, offBeta.stderr).toBe(0);

    const off = await gitbus(['service', 'uninstall', '--json', '--home', home], { env });
    expect(off.code, off.stderr).toBe(0);
    expect(json<{ removed: boolean; unloaded: boolean | null }>(off)).toMatchObject({ removed: true, unloaded: SYSTEMD ? true : null });
    expect(existsSync(file)).toBe(false);
    expect(readdirSync(units.path)).toEqual([]);
    const after = await gitbus(['service', 'status', '--json', '--home', home], { env });
    expect(after.code, after.stderr).toBe(0);
    expect(json<Status>(after)).toMatchObject({ installed: false, ...(SYSTEMD ? { active: false } : {}) });
    const again = await gitbus(['service', 'uninstall', '--json', '--home', home], { env });
    expect(again.code, again.stderr).toBe(0);
    expect(json<{ removed: boolean }>(again).removed).toBe(false);

    // The unit's command line, with its environment and working directory, starts this home's watcher, and
    // SIGTERM (what systemd sends on stop) ends it cleanly.
    const w = runExecStart(unit);
    const line = await w.started;
    expect(line).toMatch(/^watching as alpha: runners shell/);
    w.child.kill('SIGTERM');
    expect(await bounded(w.exited, 45_000, 'the watcher to exit after SIGTERM')).toBe(0);
  });

  it('the unit gets the installing PATH, so the service finds the runners this shell finds; doctor --service fails naming a runner the unit\'s PATH lacks', async () => {
    const units = await tempDir('gitbus-units-');
    cleanups.push(units.cleanup);
    const { dir, home } = await oddNode('gamma', true);
    writeFileSync(join(home, 'node.yaml'), readFileSync(join(home, 'node.yaml'), 'utf8').replace('runners: [shell]', 'runners: [shell, claude]'));
    // A claude only this shell finds, as in ~/.local/bin or an nvm folder (under a name no real install has;
    // $GITBUS_CLAUDE_BIN names it, and the unit must carry that too).
    const bin = join(dir, 'user bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'gitbus-test-claude'), '#!/bin/sh\necho "9.9.9 (Claude Code)"\n', { mode: 0o755 });
    // And a private CA's certificate, as an https remote behind a company CA needs (README "A private CA").
    const ca = join(dir, 'company-ca.pem');
    writeFileSync(ca, '');
    const env: NodeJS.ProcessEnv = { GITBUS_SERVICE_DIR: units.path, PATH: `${bin}:${process.env['PATH'] ?? '/usr/bin:/bin'}`, GITBUS_CLAUDE_BIN: 'gitbus-test-claude', NODE_EXTRA_CA_CERTS: ca };
    const file = join(units.path, 'gitbus-watch-gamma.service');

    // Installed from a shell that does not find it: install says so (the service would not find it either).
    const blind = await gitbus(['service', 'install', '--json', '--home', home], { env: { ...env, PATH: process.env['PATH'] ?? '/usr/bin:/bin' } });
    expectNoStack(blind);
    const blindNotes = SYSTEMD ? json<{ notes: string[] }>(blind).notes : (json<ErrorOut>(blind).error.data['notes'] as string[]);
    expect(blindNotes.join('\n')).toContain('runner claude: "gitbus-test-claude" is not on this shell\'s PATH');
    if (!SYSTEMD) expect(json<ErrorOut>(blind).error.fix).toContain('note: runner claude');

    const install = await gitbus(['service', 'install', '--json', '--home', home], { env });
    expectNoStack(install);
    expect(install.code, install.stderr).toBe(SYSTEMD ? 0 : 7);
    const unit = readFileSync(file, 'utf8');
    const unitPath = setting(unit, 'Environment').map((e) => systemdWords(e, false)[0] ?? '').find((w) => w.startsWith('PATH='))?.slice(5) ?? '';
    expect(unitPath.split(':')).toContain(bin);
    expect(unitPath.split(':')[0]).toBe(dirname(process.execPath));
    expect(setting(unit, 'Environment')).toContain('"GITBUS_CLAUDE_BIN=gitbus-test-claude"');
    expect(setting(unit, 'Environment').map((e) => systemdWords(e, false)[0])).toContain(`NODE_EXTRA_CA_CERTS=${ca}`);

    const found = await gitbus(['doctor', '--service', '--json', '--home', home], { env });
    type Report = { checks: { name: string; status: string; detail: string; fix: string | null }[] };
    const check = (r: RunResult, name: string) => json<Report>(r).checks.find((c) => c.name === name);
    expect(check(found, 'service.file')).toMatchObject({ status: 'ok' });
    expect(check(found, 'service.runner.shell')).toMatchObject({ status: 'ok' });
    expect(check(found, 'service.runner.claude')).toMatchObject({ status: 'ok', detail: expect.stringContaining('9.9.9 (Claude Code)') });

    // A unit written from a shell without that folder (or by an older gitbus): the service would not find claude.
    writeFileSync(file, unit.replace(`${bin}:`, ''));
    const lacking = await gitbus(['doctor', '--service', '--json', '--home', home], { env });
    expect(lacking.code, lacking.stderr).toBe(7);
    const claude = check(lacking, 'service.runner.claude');
    expect(claude).toMatchObject({ status: 'fail' });
    expect(claude?.detail).toContain('the service does not find claude');
    expect(claude?.detail).toContain(join(bin, 'gitbus-test-claude'));
    expect(claude?.fix).toContain(`gitbus service install --home`);
    expect(claude?.fix).toContain(`add ${bin} to the PATH in ${file}`);
    expect(check(lacking, 'service.runner.shell')).toMatchObject({ status: 'ok' });
    // The plain doctor (this shell's PATH) does not see the problem: that is what --service is for.
    const plain = await gitbus(['doctor', '--json', '--home', home], { env });
    expect(check(plain, 'runner.claude')).toMatchObject({ status: 'ok' });
    expect(check(plain, 'service.runner.claude')).toBeUndefined();
    const human = await gitbus(['doctor', '--service', '--home', home], { env });
    expect(human.code).toBe(7);
    expect(human.stdout).toMatch(/FAIL\s+service\.runner\.claude\s+the service does not find claude/);
    expect(human.stdout).toContain('fix: run "gitbus service install --home');

    // Installing again from this shell puts the folder back.
    await gitbus(['service', 'install', '--json', '--home', home], { env });
    const fixed = await gitbus(['doctor', '--service', '--json', '--home', home], { env });
    expect(check(fixed, 'service.runner.claude')).toMatchObject({ status: 'ok' });
    // Another install first on the service's PATH (an older nvm node's claude): found, but not the same program.
    const other = join(dir, 'old bin');
    mkdirSync(other);
    writeFileSync(join(other, 'gitbus-test-claude'), '#!/bin/sh\necho "1.0.0 (Claude Code)"\n', { mode: 0o755 });
    const fresh = readFileSync(file, 'utf8');
    writeFileSync(file, fresh.replace(`${bin}:`, `${other}:${bin}:`));
    const shadowed = await gitbus(['doctor', '--service', '--json', '--home', home], { env });
    expect(check(shadowed, 'service.runner.claude')).toMatchObject({ status: 'warn', detail: expect.stringContaining(`the service runs ${join(other, 'gitbus-test-claude')}, this shell ${join(bin, 'gitbus-test-claude')}`) });
    expect(check(shadowed, 'service.runner.shell')).toMatchObject({ status: 'ok' });
    await gitbus(['service', 'uninstall', '--json', '--home', home], { env });
    const none = await gitbus(['doctor', '--service', '--json', '--home', home], { env });
    expect(none.code).toBe(7);
    expect(check(none, 'service.file')).toMatchObject({ status: 'fail', fix: expect.stringContaining('gitbus service install --home') });
  });

  it('two homes whose nodes share a name: install, status, uninstall and doctor --service from one do not take the other\'s unit', async () => {
    const units = await tempDir('gitbus-units-');
    cleanups.push(units.cleanup);
    const env = { GITBUS_SERVICE_DIR: units.path };
    const first = await oddNode('box', true);
    const second = await oddNode('box', true);
    const file = join(units.path, 'gitbus-watch-box.service');
    const homeOf = () => systemdWords(setting(readFileSync(file, 'utf8'), 'Environment')[0] ?? '', false)[0];

    const one = await gitbus(['service', 'install', '--json', '--home', first.home], { env });
    expect(one.code, one.stderr).toBe(SYSTEMD ? 0 : 7);
    expect(homeOf()).toBe(`GITBUS_HOME=${first.home}`);

    const two = await gitbus(['service', 'install', '--json', '--home', second.home], { env });
    expectNoStack(two);
    expect(two.code, two.stderr).toBe(5);
    const { error } = json<ErrorOut>(two);
    expect(error.code).toBe('SERVICE_OTHER_HOME');
    expect(error.data).toMatchObject({ file, node: 'box', home: second.home, otherHome: first.home });
    expect(error.message).toContain(`runs the watcher of another home, ${first.home}`);
    expect(error.fix).toContain(`gitbus service uninstall --home '${first.home}'`);
    expect(homeOf()).toBe(`GITBUS_HOME=${first.home}`);
    const twoText = await gitbus(['service', 'install', '--home', second.home], { env });
    expect(twoText.code).toBe(5);
    expect(twoText.stderr).toContain('gitbus service uninstall --home');

    const status = await gitbus(['service', 'status', '--json', '--home', second.home], { env });
    expect(status.code, status.stderr).toBe(0);
    expect(json<Status & { otherHome: string | null }>(status)).toMatchObject({ installed: false, otherHome: first.home, loaded: null, active: null });
    const statusText = await gitbus(['service', 'status', '--home', second.home], { env });
    expect(statusText.stdout).toContain(`not this home's: it runs the watcher of another home, ${first.home}`);
    expect(json<Status & { otherHome: string | null }>(await gitbus(['service', 'status', '--json', '--home', first.home], { env }))).toMatchObject({ installed: true, otherHome: null });

    for (const args of [[], ['--node', 'box']]) {
      const off = await gitbus(['service', 'uninstall', '--json', '--home', second.home, ...args], { env });
      expect(off.code, off.stderr).toBe(5);
      expect(json<ErrorOut>(off).error).toMatchObject({ code: 'SERVICE_OTHER_HOME', data: { action: 'uninstall', otherHome: first.home } });
      expect(existsSync(file)).toBe(true);
    }

    const doctor = await gitbus(['doctor', '--service', '--json', '--home', second.home], { env });
    const check = json<{ checks: { name: string; status: string; detail: string }[] }>(doctor).checks.find((c) => c.name === 'service.file');
    expect(check).toMatchObject({ status: 'fail', detail: expect.stringContaining(`another home, ${first.home}`) });

    // A unit whose home holds no node any more is nobody else's: the other home may replace it.
    renameSync(join(first.home, 'node.yaml'), join(first.home, 'node.yaml.moved'));
    const replaced = await gitbus(['service', 'install', '--json', '--home', second.home], { env });
    expect(replaced.code, replaced.stderr).toBe(SYSTEMD ? 0 : 7);
    expect(homeOf()).toBe(`GITBUS_HOME=${second.home}`);
    const off = await gitbus(['service', 'uninstall', '--json', '--home', second.home], { env });
    expect(off.code, off.stderr).toBe(0);
    expect(existsSync(file)).toBe(false);
  });

  it('install refuses while a foreground watcher runs for the home, writing nothing, and installs once it stopped', async () => {
    const units = await tempDir('gitbus-units-');
    cleanups.push(units.cleanup);
    const env = { GITBUS_SERVICE_DIR: units.path };
    const { home } = await oddNode('delta', true);
    const w = startWatcher(home, ['--no-serve'], children);
    await until('the foreground watcher to start', () => w.events().some((e) => e.type === 'started'), 30_000, w.stderr);
    const pid = w.child.pid ?? 0;

    const refused = await gitbus(['service', 'install', '--json', '--home', home], { env });
    expectNoStack(refused);
    expect(refused.code, refused.stderr).toBe(5);
    const { error } = json<ErrorOut>(refused);
    expect(error.code).toBe('SERVICE_WATCHER_RUNNING');
    expect(error.data).toMatchObject({ home, pid, how: expect.any(String) });
    expect(error.message).toContain(`a watcher already runs for ${home}: pid ${pid}`);
    expect(error.fix).toContain(`kill ${pid}`);
    expect(error.fix).toContain(`gitbus service install --home '${home}'`);
    const human = await gitbus(['service', 'install', '--home', home], { env });
    expect(human.code).toBe(5);
    expect(human.stdout).toBe('');
    expect(human.stderr).toContain(`a watcher already runs for ${home}: pid ${pid}`);
    expect(readdirSync(units.path)).toEqual([]);

    w.child.kill('SIGTERM');
    expect(await bounded(w.exited, 45_000, 'the foreground watcher to exit after SIGTERM')).toBe(0);
    const installed = await gitbus(['service', 'install', '--json', '--home', home], { env });
    expectNoStack(installed);
    expect(installed.code, installed.stderr).toBe(SYSTEMD ? 0 : 7);
    expect(readdirSync(units.path)).toEqual(['gitbus-watch-delta.service']);
    if (SYSTEMD) {
      // The service's own watcher is no reason to refuse: installing again updates it.
      await until('systemd to run the watcher', async () => json<Status>(await gitbus(['service', 'status', '--json', '--home', home], { env })).active === true);
      await until('its watcher to hold the home', () => existsSync(join(home, 'watcher.lock')));
      const again = await gitbus(['service', 'install', '--json', '--home', home], { env });
      expect(again.code, again.stderr).toBe(0);
      expect(json<{ action: string }>(again).action).toBe('updated');
    }
    expect((await gitbus(['service', 'uninstall', '--json', '--home', home], { env })).code).toBe(0);
  });

  it('every subcommand has --help and --json', async () => {
    for (const sub of ['install', 'uninstall', 'status']) {
      const r = await gitbus(['service', sub, '--help']);
      expect(r.code, sub).toBe(0);
      expect(r.stdout, sub).toContain(`Usage: gitbus service ${sub}`);
      expect(r.stdout, sub).toContain('--json');
      expect(r.stdout, sub).toContain('--home');
    }
    const bare = await gitbus(['service', 'bogus']);
    expect(bare.code).toBe(2);
  });
});
