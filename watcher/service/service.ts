import { spawn } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { chmod, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { homePaths, loadNodeConfig } from '../../bus/home.js';
import { NoRunnersError } from '../errors.js';
import { RUNNERS } from '../run-task.js';
import { ServiceCommandError, ServiceEntryNotFoundError, ServiceManagerUnavailableError, ServiceUnsupportedPlatformError } from './errors.js';
import { launchdLabel, launchdLogPath, launchdPlistName, renderLaunchdPlist } from './launchd-plist.js';
import { assertNodeName, journalCommand, renderSystemdUnit, stopTimeoutSeconds, systemdUnitName, type WatcherServiceSpec } from './systemd-unit.js';

/**
 * `gitbus service`: installs the watcher of one node (one home) as a per-user service — a systemd user unit on
 * Linux, a LaunchAgent on macOS — removes it, and reports its state. The service manager is reached only through
 * `ServiceCommands`, so everything here runs (and is tested) where no systemd is running.
 */

export type ServiceManagerKind = 'systemd' | 'launchd';
export type ServiceProgram = 'systemctl' | 'launchctl' | 'loginctl';

export interface CommandResult {
  /** Exit code; null when the program did not run or did not finish. */
  code: number | null;
  stdout: string;
  stderr: string;
  /** Why the program did not run or finish (not installed, timed out); null when it exited. */
  failure: string | null;
}

/** How the service manager is driven. The real one spawns the programs; tests may inject another. */
export interface ServiceCommands {
  run(program: ServiceProgram, args: string[]): Promise<CommandResult>;
}

const OUTPUT_CAP = 64 * 1024;

/** Spawns `systemctl`/`launchctl`/`loginctl` with a bounded wait; never rejects. */
export class SpawnServiceCommands implements ServiceCommands {
  private readonly timeoutMs: number;
  private readonly env: NodeJS.ProcessEnv;

  constructor(opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}) {
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.env = withRuntimeDir(opts.env ?? process.env);
  }

  run(program: ServiceProgram, args: string[]): Promise<CommandResult> {
    return new Promise((done) => {
      let stdout = '';
      let stderr = '';
      let settled = false;
      const finish = (r: CommandResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        done(r);
      };
      const child = spawn(program, args, { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        finish({ code: null, stdout, stderr, failure: `did not finish within ${this.timeoutMs / 1000}s` });
      }, this.timeoutMs);
      child.stdout.on('data', (d: Buffer) => (stdout = (stdout + d.toString()).slice(0, OUTPUT_CAP)));
      child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(0, OUTPUT_CAP)));
      child.on('error', (err: NodeJS.ErrnoException) => finish({ code: null, stdout, stderr, failure: err.code === 'ENOENT' ? `${program} is not installed` : err.message }));
      child.on('close', (code, signal) => finish({ code, stdout, stderr, failure: code === null ? `killed by ${signal ?? 'a signal'}` : null }));
    });
  }
}

/**
 * `systemctl --user` finds the user's manager through XDG_RUNTIME_DIR, which an SSH session or `su` may not
 * set even when the manager runs (lingering); point it at the usual place when that exists.
 */
function withRuntimeDir(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  if (env['XDG_RUNTIME_DIR'] || typeof process.getuid !== 'function') return env;
  const dir = `/run/user/${process.getuid()}`;
  return existsSync(dir) ? { ...env, XDG_RUNTIME_DIR: dir } : env;
}

export interface ServiceOptions {
  platform?: NodeJS.Platform;
  env?: NodeJS.ProcessEnv;
  commands?: ServiceCommands;
  uid?: number;
  /** The user's home folder (default: os.homedir()). */
  userHome?: string;
  /** The node binary the service runs (default: this process's). */
  nodePath?: string;
  /** gitbus's bin/gitbus.js (default: found from this module's location). */
  entry?: string;
}

export interface ServiceLogs {
  /** The command that shows the watcher's output (systemd: the journal). */
  command: string;
  /** The file the watcher's output goes to (launchd), or null. */
  file: string | null;
}

/** Where one node's service lives. */
export interface ServiceTarget {
  manager: ServiceManagerKind;
  node: string;
  home: string;
  /** The unit name (systemd) or the label (launchd). */
  name: string;
  /** The unit file or plist. */
  file: string;
  /** True when `file` is in the manager's own folder (false with GITBUS_SERVICE_DIR pointing elsewhere). */
  standardDir: boolean;
  logs: ServiceLogs;
}

export interface ServiceState {
  /** The manager knows the service (LoadState=loaded / `launchctl print` finds it). */
  loaded: boolean;
  /** It is running (or starting). */
  active: boolean;
  /** systemd ActiveState, or launchd's `state`. */
  state: string | null;
  subState: string | null;
  pid: number | null;
  /** systemd UnitFileState (enabled, linked, ...); null for launchd. */
  enabled: string | null;
}

export interface InstallResult extends ServiceTarget {
  action: 'installed' | 'updated';
  state: ServiceState;
  /** Things the user should know (lingering off, ...). */
  notes: string[];
}

export interface UninstallResult extends ServiceTarget {
  /** The file existed and was removed. */
  removed: boolean;
  /** The manager had the service loaded and unloaded it; null when the manager could not be reached. */
  unloaded: boolean | null;
  notes: string[];
}

export interface StatusResult extends ServiceTarget {
  installed: boolean;
  /** Whether the service manager could be asked; when not, `reason` says why and the state fields are null. */
  managerAvailable: boolean;
  reason: string | null;
  loaded: boolean | null;
  active: boolean | null;
  state: string | null;
  subState: string | null;
  pid: number | null;
  enabled: string | null;
}

export function managerFor(platform: NodeJS.Platform, home: string): ServiceManagerKind {
  if (platform === 'linux') return 'systemd';
  if (platform === 'darwin') return 'launchd';
  throw new ServiceUnsupportedPlatformError(platform, home);
}

/** The folder unit files (systemd) or LaunchAgents (launchd) are written to; GITBUS_SERVICE_DIR overrides it. */
export function serviceDir(manager: ServiceManagerKind, env: NodeJS.ProcessEnv, userHome: string): { dir: string; standard: boolean } {
  const standard = manager === 'systemd' ? join(env['XDG_CONFIG_HOME'] || join(userHome, '.config'), 'systemd', 'user') : join(userHome, 'Library', 'LaunchAgents');
  const override = env['GITBUS_SERVICE_DIR'];
  if (override) {
    const dir = resolve(override);
    return { dir, standard: dir === standard };
  }
  return { dir: standard, standard: true };
}

export function serviceTarget(home: string, node: string, opts: ServiceOptions = {}): ServiceTarget {
  assertNodeName(node);
  const manager = managerFor(opts.platform ?? process.platform, home);
  const { dir, standard } = serviceDir(manager, opts.env ?? process.env, opts.userHome ?? homedir());
  if (manager === 'systemd') {
    const name = systemdUnitName(node);
    return { manager, node, home, name, file: join(dir, name), standardDir: standard, logs: { command: `${journalCommand(node)} -f`, file: null } };
  }
  const log = launchdLogPath(home);
  return { manager, node, home, name: launchdLabel(node), file: join(dir, launchdPlistName(node)), standardDir: standard, logs: { command: `tail -f ${shellQuote(log)}`, file: log } };
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9/._,+=:@-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}

/**
 * The absolute path of bin/gitbus.js: the folder above this module (dist/watcher/service/ after tsc,
 * dist/cli/ in the bundle) that holds gitbus's package.json and bin/gitbus.js.
 */
export function gitbusEntry(from: string = fileURLToPath(import.meta.url)): string {
  let dir = dirname(from);
  for (;;) {
    const entry = join(dir, 'bin', 'gitbus.js');
    if (existsSync(entry) && existsSync(join(dir, 'package.json'))) {
      try {
        if ((JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown }).name === 'gitbus') return realpathSync(entry);
      } catch {
        // not ours; keep looking
      }
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  const argv1 = process.argv[1];
  if (argv1 && /gitbus(\.js)?$/.test(argv1) && existsSync(argv1)) return realpathSync(argv1);
  throw new ServiceEntryNotFoundError(from);
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0]?.trim() ?? '';
}

function describeFailure(r: CommandResult): string {
  return r.failure ?? (firstLine(r.stderr) || firstLine(r.stdout) || `exit ${r.code}`);
}

/** What one service manager does; both implementations drive their program through `ServiceCommands`. */
interface Manager {
  /** null when the manager can be reached, else why not. */
  probe(): Promise<string | null>;
  state(t: ServiceTarget): Promise<ServiceState>;
  /** Loads (and starts) the service from its file; restarts it when it was running. */
  load(t: ServiceTarget, before: ServiceState): Promise<void>;
  /** Stops and unloads it; true when it was loaded. */
  unload(t: ServiceTarget, before: ServiceState): Promise<boolean>;
  /** The commands a person runs to load it by hand. */
  loadCommands(t: ServiceTarget): string[];
  unloadCommands(t: ServiceTarget): string[];
  unavailableFix(t: ServiceTarget): string;
  label: string;
}

class Systemd implements Manager {
  readonly label = 'systemctl --user';
  constructor(
    private readonly cmd: ServiceCommands,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  private async must(t: ServiceTarget, args: string[], written: boolean): Promise<CommandResult> {
    const r = await this.cmd.run('systemctl', ['--user', ...args]);
    if (r.code !== 0) {
      throw new ServiceCommandError({
        command: `systemctl --user ${args.join(' ')}`,
        output: describeFailure(r),
        file: t.file,
        written,
        fix: `see "systemctl --user status ${t.name}" and "${journalCommand(t.node)}", then run the gitbus service command again`,
      });
    }
    return r;
  }

  async probe(): Promise<string | null> {
    const r = await this.cmd.run('systemctl', ['--user', 'show-environment']);
    return r.code === 0 ? null : describeFailure(r);
  }

  async state(t: ServiceTarget): Promise<ServiceState> {
    const r = await this.must(t, ['show', '-p', 'LoadState,ActiveState,SubState,MainPID,UnitFileState', t.name], existsSync(t.file));
    const props = new Map(r.stdout.split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const));
    const active = props.get('ActiveState') ?? null;
    const pid = Number(props.get('MainPID') ?? '0');
    return {
      loaded: props.get('LoadState') === 'loaded',
      active: active === 'active' || active === 'activating' || active === 'reloading',
      state: active,
      subState: props.get('SubState') ?? null,
      pid: pid > 0 ? pid : null,
      enabled: props.get('UnitFileState') || null,
    };
  }

  private ref(t: ServiceTarget): string {
    // A unit outside systemd's folders is enabled by its path, which links it in (`systemctl enable PATH`).
    return t.standardDir ? t.name : t.file;
  }

  async load(t: ServiceTarget, before: ServiceState): Promise<void> {
    await this.must(t, ['daemon-reload'], true);
    await this.must(t, ['enable', this.ref(t)], true);
    await this.must(t, [before.active ? 'restart' : 'start', t.name], true);
  }

  async unload(t: ServiceTarget, before: ServiceState): Promise<boolean> {
    const known = before.loaded || before.enabled !== null;
    if (known) {
      const r = await this.cmd.run('systemctl', ['--user', 'disable', '--now', t.name]);
      if (r.code !== 0 && before.loaded) await this.must(t, ['stop', t.name], true);
    }
    return known;
  }

  async afterRemove(t: ServiceTarget): Promise<void> {
    await this.cmd.run('systemctl', ['--user', 'daemon-reload']);
    await this.cmd.run('systemctl', ['--user', 'reset-failed', t.name]);
  }

  loadCommands(t: ServiceTarget): string[] {
    return ['systemctl --user daemon-reload', `systemctl --user enable --now ${shellQuote(this.ref(t))}`];
  }

  unloadCommands(t: ServiceTarget): string[] {
    return [`systemctl --user disable --now ${t.name}`, 'systemctl --user daemon-reload'];
  }

  unavailableFix(t: ServiceTarget): string {
    return [
      'give this user a running systemd user manager, then load the unit:',
      '    sudo loginctl enable-linger $USER            # user services run without a login session, and from boot',
      '    export XDG_RUNTIME_DIR=/run/user/$(id -u)    # in an SSH or su session, if systemctl --user still cannot connect',
      ...this.loadCommands(t).map((c) => `    ${c}`),
      `  (or run "gitbus service install --home ${shellQuote(t.home)}" again); without systemd (a container), run "gitbus watch --home ${shellQuote(t.home)}" under another supervisor`,
    ].join('\n');
  }

  /** A user manager only runs while the user is logged in, unless lingering is on. */
  async lingerNote(): Promise<string | null> {
    const user = this.env['USER'] ?? this.env['LOGNAME'];
    if (!user) return null;
    const r = await this.cmd.run('loginctl', ['show-user', user, '-p', 'Linger', '--value']);
    if (r.code !== 0 || r.stdout.trim() !== 'no') return null;
    return `lingering is off for ${user}: the watcher stops when ${user}'s last session ends and does not start at boot; turn it on with "sudo loginctl enable-linger ${user}"`;
  }
}

class Launchd implements Manager {
  readonly label = 'launchctl';
  constructor(
    private readonly cmd: ServiceCommands,
    private readonly uid: number,
  ) {}

  private domain(): string {
    return `gui/${this.uid}`;
  }

  private service(t: ServiceTarget): string {
    return `${this.domain()}/${t.name}`;
  }

  private async must(t: ServiceTarget, args: string[], written: boolean): Promise<CommandResult> {
    const r = await this.cmd.run('launchctl', args);
    if (r.code !== 0) {
      throw new ServiceCommandError({
        command: `launchctl ${args.join(' ')}`,
        output: describeFailure(r),
        file: t.file,
        written,
        fix: `check the plist with "plutil -lint ${shellQuote(t.file)}" and the log ${shellQuote(t.logs.file ?? '')}, then run the gitbus service command again`,
      });
    }
    return r;
  }

  async probe(): Promise<string | null> {
    const r = await this.cmd.run('launchctl', ['print', this.domain()]);
    return r.code === 0 ? null : describeFailure(r);
  }

  async state(t: ServiceTarget): Promise<ServiceState> {
    const r = await this.cmd.run('launchctl', ['print', this.service(t)]);
    if (r.code !== 0) return { loaded: false, active: false, state: null, subState: null, pid: null, enabled: null };
    const state = /^\s*state = (.+)$/m.exec(r.stdout)?.[1]?.trim() ?? null;
    const pid = Number(/^\s*pid = (\d+)$/m.exec(r.stdout)?.[1] ?? '0');
    return { loaded: true, active: state === 'running', state, subState: null, pid: pid > 0 ? pid : null, enabled: null };
  }

  async load(t: ServiceTarget, before: ServiceState): Promise<void> {
    if (before.loaded) await this.unloadAndWait(t);
    // A service disabled with `launchctl disable` refuses to bootstrap; installing means wanting it enabled.
    await this.must(t, ['enable', this.service(t)], true);
    await this.must(t, ['bootstrap', this.domain(), t.file], true);
  }

  async unload(t: ServiceTarget, before: ServiceState): Promise<boolean> {
    if (!before.loaded) return false;
    await this.unloadAndWait(t);
    return true;
  }

  /** `bootout` may return before the watcher has exited, and bootstrap fails until it is gone; wait, bounded by ExitTimeOut. */
  private async unloadAndWait(t: ServiceTarget): Promise<void> {
    const out = await this.cmd.run('launchctl', ['bootout', this.service(t)]);
    const deadline = Date.now() + (stopTimeoutSeconds() + 10) * 1000;
    while ((await this.cmd.run('launchctl', ['print', this.service(t)])).code === 0) {
      if (Date.now() > deadline) {
        throw new ServiceCommandError({
          command: `launchctl bootout ${this.service(t)}`,
          output: `the service was still loaded ${stopTimeoutSeconds() + 10}s later${out.code !== 0 ? ` (${describeFailure(out)})` : ''}`,
          file: t.file,
          written: existsSync(t.file),
          fix: `see "launchctl print ${this.service(t)}"; stop it with "launchctl kill SIGKILL ${this.service(t)}", then try again`,
        });
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  loadCommands(t: ServiceTarget): string[] {
    return [`launchctl bootstrap gui/$(id -u) ${shellQuote(t.file)}`];
  }

  unloadCommands(t: ServiceTarget): string[] {
    return [`launchctl bootout gui/$(id -u)/${t.name}`];
  }

  unavailableFix(t: ServiceTarget): string {
    return [
      'a LaunchAgent loads into the GUI session of a logged-in user (an SSH session has no gui/$(id -u) domain): log in to this Mac, then run',
      ...this.loadCommands(t).map((c) => `    ${c}`),
      `  (or "gitbus service install --home ${shellQuote(t.home)}" again)`,
    ].join('\n');
  }
}

function managerOf(t: ServiceTarget, opts: ServiceOptions): Systemd | Launchd {
  const commands = opts.commands ?? new SpawnServiceCommands({ env: opts.env ?? process.env });
  if (t.manager === 'systemd') return new Systemd(commands, opts.env ?? process.env);
  return new Launchd(commands, opts.uid ?? (typeof process.getuid === 'function' ? process.getuid() : 0));
}

function unavailable(m: Manager, t: ServiceTarget, reason: string, commands: string[]): ServiceManagerUnavailableError {
  return new ServiceManagerUnavailableError({ manager: m.label, file: t.file, name: t.name, reason, commands, fix: m.unavailableFix(t) });
}

function specOf(t: ServiceTarget, opts: ServiceOptions): WatcherServiceSpec {
  return { node: t.node, home: t.home, nodePath: opts.nodePath ?? process.execPath, entry: opts.entry ?? gitbusEntry() };
}

/** The text of the service file for this node, without writing anything. */
export function renderService(t: ServiceTarget, opts: ServiceOptions = {}): string {
  const spec = specOf(t, opts);
  return t.manager === 'systemd' ? renderSystemdUnit(spec) : renderLaunchdPlist(spec);
}

async function writeServiceFile(file: string, text: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, text, { mode: 0o644 });
  await chmod(tmp, 0o644);
  await rename(tmp, file);
}

/**
 * Installs the node's watcher as a service: refuses a home without a node or a node without runners, writes the
 * file (0644) and loads and starts it. When the manager cannot be reached the file stays written and the error
 * says what to run.
 */
export async function installService(home: string, opts: ServiceOptions = {}): Promise<InstallResult> {
  const config = await loadNodeConfig(home);
  if (!config.runners.some((r) => RUNNERS[r])) throw new NoRunnersError(config.node, home);
  const t = serviceTarget(home, config.node, opts);
  const text = renderService(t, opts);
  const m = managerOf(t, opts);
  const existed = existsSync(t.file);
  // launchd opens the log file itself but does not create its folder.
  await mkdir(homePaths(home).logs, { recursive: true });
  await writeServiceFile(t.file, text);
  const reason = await m.probe();
  if (reason !== null) throw unavailable(m, t, reason, m instanceof Systemd ? ['sudo loginctl enable-linger $USER', ...m.loadCommands(t)] : m.loadCommands(t));
  const before = await m.state(t);
  await m.load(t, before);
  const state = await m.state(t);
  const notes: string[] = [];
  if (m instanceof Systemd) {
    const linger = await m.lingerNote();
    if (linger) notes.push(linger);
  }
  return { ...t, action: existed ? 'updated' : 'installed', state, notes };
}

async function nodeOf(home: string, node: string | undefined): Promise<string> {
  if (node !== undefined) {
    assertNodeName(node);
    return node;
  }
  return (await loadNodeConfig(home)).node;
}

/** Stops and unloads the node's service and removes its file. Without a reachable manager the file is still removed. */
export async function uninstallService(home: string, opts: ServiceOptions & { node?: string } = {}): Promise<UninstallResult> {
  const t = serviceTarget(home, await nodeOf(home, opts.node), opts);
  const m = managerOf(t, opts);
  const existed = existsSync(t.file);
  const notes: string[] = [];
  const reason = await m.probe();
  let unloaded: boolean | null = null;
  if (reason === null) {
    unloaded = await m.unload(t, await m.state(t));
  } else if (existed) {
    notes.push(`${m.label} is not available here (${reason}); if the service runs under a session this one cannot reach, stop it there with: ${m.unloadCommands(t).join(' && ')}`);
  }
  await rm(t.file, { force: true });
  if (reason === null && m instanceof Systemd) await m.afterRemove(t);
  return { ...t, removed: existed, unloaded, notes };
}

export async function serviceStatus(home: string, opts: ServiceOptions & { node?: string } = {}): Promise<StatusResult> {
  const t = serviceTarget(home, await nodeOf(home, opts.node), opts);
  const m = managerOf(t, opts);
  const installed = existsSync(t.file);
  const reason = await m.probe();
  if (reason !== null) {
    return { ...t, installed, managerAvailable: false, reason, loaded: null, active: null, state: null, subState: null, pid: null, enabled: null };
  }
  const s = await m.state(t);
  return { ...t, installed, managerAvailable: true, reason: null, ...s };
}
