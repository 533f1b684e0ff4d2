import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { chmod, mkdir, rename, rm, writeFile } from '../../bus/node-fs-async.js';
import { homedir } from '../../bus/user-home-dir.js';
import { dirname, join, resolve } from 'node:path';
import { homeHasNode, homePaths, loadNodeConfig, type NodeConfig } from '../../bus/home.js';
import { NoRunnersError } from '../errors.js';
import { RUNNERS } from '../run-task.js';
import { ServiceEntryNotFoundError, ServiceManagerUnavailableError, ServiceOtherHomeError, ServiceUnsupportedPlatformError, ServiceWatcherRunningError } from './errors.js';
import { liveOwner, watcherLockPath } from '../watcher-lock.js';
import { serviceEnvironment } from './read-service.js';
import { launchdLabel, launchdLogPath, launchdPlistName, renderLaunchdPlist } from './launchd-plist.js';
import { assertNodeName, journalCommand, renderSystemdUnit, systemdUnitName, type WatcherServiceSpec } from './systemd-unit.js';
import { type ServiceCommands, SpawnServiceCommands, type ServiceManagerKind } from './commands.js';
import { shellQuote, type Manager } from './manager.js';
import { planServicePath, type ResolvedRunner } from './service-path.js';
import { Systemd } from './manager-systemd.js';
import { Launchd } from './manager-launchd.js';
export * from './commands.js';


/**
 * `gitbus service`: installs the watcher of one node (one home) as a per-user service — a systemd user unit on
 * Linux, a LaunchAgent on macOS — removes it, and reports its state. The service manager is reached only through
 * `ServiceCommands`, so everything here runs (and is tested) where no systemd is running.
 */

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
  /** Each enabled runner's binary and where the installing environment (whose PATH the service gets) finds it. */
  runners: ResolvedRunner[];
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
  /** This home's service is installed (false when the file there runs another home: `otherHome`). */
  installed: boolean;
  /** The home whose watcher the file of this node's name runs, when that is another home that still holds a node; the state fields are then null. */
  otherHome: string | null;
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


/**
 * The absolute path of bin/gitbus.js: the folder above this module (dist/watcher/service/ after tsc,
 * dist/cli/ in the bundle) that holds gitbus's package.json and bin/gitbus.js.
 */
export function gitbusEntry(from: string = import.meta.filename): string {
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

function managerOf(t: ServiceTarget, opts: ServiceOptions): Systemd | Launchd {
  const commands = opts.commands ?? new SpawnServiceCommands({ env: opts.env ?? process.env });
  if (t.manager === 'systemd') return new Systemd(commands, opts.env ?? process.env);
  return new Launchd(commands, opts.uid ?? (typeof process.getuid === 'function' ? process.getuid() : 0));
}

function unavailable(m: Manager, t: ServiceTarget, reason: string, commands: string[], notes: string[] = []): ServiceManagerUnavailableError {
  return new ServiceManagerUnavailableError({ manager: m.label, file: t.file, name: t.name, reason, commands, fix: m.unavailableFix(t), notes });
}

function specOf(t: ServiceTarget, config: NodeConfig, opts: ServiceOptions): { spec: WatcherServiceSpec; runners: ResolvedRunner[] } {
  const nodePath = opts.nodePath ?? process.execPath;
  const env = opts.env ?? process.env;
  const plan = planServicePath(nodePath, config, env);
  // claude.binary may come from the installing shell's $GITBUS_CLAUDE_BIN; the service would not have it.
  const claudeBin = config.runners.includes('claude') && !config.claude?.binary ? env['GITBUS_CLAUDE_BIN'] : undefined;
  // A private CA for an https remote (README "A private CA"): the service must trust what this shell trusts. Node
  // reads it relative to the process's directory, which the service's is not.
  const extraCa = env['NODE_EXTRA_CA_CERTS'] ? resolve(env['NODE_EXTRA_CA_CERTS']) : undefined;
  const carried = { ...(claudeBin ? { GITBUS_CLAUDE_BIN: claudeBin } : {}), ...(extraCa ? { NODE_EXTRA_CA_CERTS: extraCa } : {}) };
  const spec: WatcherServiceSpec = { node: t.node, home: t.home, nodePath, entry: opts.entry ?? gitbusEntry(), path: plan.path, ...(Object.keys(carried).length > 0 ? { env: carried } : {}) };
  return { spec, runners: plan.runners };
}

/** The text of the service file for this node, without writing anything, and where the installing environment finds each runner. */
export function renderService(t: ServiceTarget, config: NodeConfig, opts: ServiceOptions = {}): { text: string; runners: ResolvedRunner[] } {
  const { spec, runners } = specOf(t, config, opts);
  return { text: t.manager === 'systemd' ? renderSystemdUnit(spec) : renderLaunchdPlist(spec), runners };
}

async function writeServiceFile(file: string, text: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, text, { mode: 0o644 });
  await chmod(tmp, 0o644);
  await rename(tmp, file);
}

function sameFolder(a: string, b: string): boolean {
  if (resolve(a) === resolve(b)) return true;
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

/**
 * The home whose watcher the service file of this node's name runs, when that is not `t.home` and it still holds a
 * node. Unit and label are named after the node only, so two homes whose nodes share a name share them. A file whose
 * home is gone (or that names none) is nobody else's: it may be replaced or removed from here.
 */
export function otherHomeOf(t: ServiceTarget): string | null {
  let text: string;
  try {
    text = readFileSync(t.file, 'utf8');
  } catch {
    return null;
  }
  const theirs = serviceEnvironment(t.manager, text)?.['GITBUS_HOME'];
  if (theirs === undefined || theirs === '' || sameFolder(theirs, t.home) || !homeHasNode(theirs)) return null;
  return theirs;
}

/**
 * Installs the node's watcher as a service: refuses a home without a node or a node without runners (or environment
 * profiles to keep in step), or whose home another watcher holds (the service's would fight it), writes the
 * file (0644) and loads and starts it. When the manager cannot be reached the file stays written and the error
 * says what to run.
 */
export async function installService(home: string, opts: ServiceOptions = {}): Promise<InstallResult> {
  const config = await loadNodeConfig(home);
  // A node that runs no tasks may still keep its setup in step with the bus (node.yaml env:).
  if (!config.runners.some((r) => RUNNERS[r]) && (config.env ?? []).length === 0) throw new NoRunnersError(config.node, home);
  const t = serviceTarget(home, config.node, opts);
  const other = otherHomeOf(t);
  if (other !== null) {
    const fix = `remove that home's service first with "gitbus service uninstall --home ${shellQuote(other)}", then run "gitbus service install --home ${shellQuote(home)}" again; or run this home's watcher another way ("gitbus watch --home ${shellQuote(home)}")`;
    throw new ServiceOtherHomeError({ action: 'install', name: t.name, file: t.file, node: t.node, home, otherHome: other, fix });
  }
  const { text, runners } = renderService(t, config, opts);
  const m = managerOf(t, opts);
  await refuseOtherWatcher(m, t);
  const existed = existsSync(t.file);
  // launchd opens the log file itself but does not create its folder.
  await mkdir(homePaths(home).logs, { recursive: true });
  await writeServiceFile(t.file, text);
  const reason = await m.probe();
  const notes = missingRunnerNotes(runners);
  if (reason !== null) throw unavailable(m, t, reason, m instanceof Systemd ? ['sudo loginctl enable-linger $USER', ...m.loadCommands(t)] : m.loadCommands(t), notes);
  const before = await m.state(t);
  await m.load(t, before);
  const state = await m.state(t);
  if (m instanceof Systemd) {
    const linger = await m.lingerNote();
    if (linger) notes.push(linger);
  }
  return { ...t, action: existed ? 'updated' : 'installed', runners, state, notes };
}

/**
 * Refuses when a live watcher holds the home and it is not this service's own (its main process, as the manager
 * reports it, where the manager can be asked): installing again while the service runs updates it.
 */
async function refuseOtherWatcher(m: Systemd | Launchd, t: ServiceTarget): Promise<void> {
  const owner = liveOwner(watcherLockPath(t.home));
  if (owner === null) return;
  const servicePid = (await m.probe()) === null ? (await m.state(t)).pid : null;
  if (owner.pid === servicePid) return;
  throw new ServiceWatcherRunningError({ home: t.home, name: t.name, pid: owner.pid, since: owner.since, how: owner.how, installAgain: `gitbus service install --home ${shellQuote(t.home)}` });
}

/** An enabled runner this shell does not find is not found by the service either. */
function missingRunnerNotes(runners: ResolvedRunner[]): string[] {
  return runners
    .filter((r) => r.found === null)
    .map((r) => `runner ${r.runner}: "${r.binary}" is not on this shell's PATH, so the service will not find it either; install it (or put its folder on PATH) and run "gitbus service install" again, or remove ${r.runner} from runners in node.yaml`);
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
  const other = otherHomeOf(t);
  if (other !== null) {
    const fix = `it is not this home's service to remove; remove it from its own home with "gitbus service uninstall --home ${shellQuote(other)}"`;
    throw new ServiceOtherHomeError({ action: 'uninstall', name: t.name, file: t.file, node: t.node, home, otherHome: other, fix });
  }
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
  const otherHome = otherHomeOf(t);
  const installed = otherHome === null && existsSync(t.file);
  const reason = await m.probe();
  // The manager's state of that name is the other home's service, not this one's.
  if (reason !== null || otherHome !== null) {
    return { ...t, installed, otherHome, managerAvailable: reason === null, reason, loaded: null, active: null, state: null, subState: null, pid: null, enabled: null };
  }
  const s = await m.state(t);
  return { ...t, installed, otherHome, managerAvailable: true, reason: null, ...s };
}
