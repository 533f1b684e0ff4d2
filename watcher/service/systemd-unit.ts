import { NODE_NAME_RE } from '../../schemas/ids.js';
import { InvalidNameError } from '../../bus/errors.js';
import { ServicePathError } from './errors.js';

/**
 * Pure: the systemd user unit that runs `gitbus watch` for one node (one home). Several homes on one machine
 * are several nodes, so each gets its own unit, named after the node.
 */
export interface WatcherServiceSpec {
  node: string;
  /** Absolute bus home of the node. */
  home: string;
  /** Absolute path of the node binary. */
  nodePath: string;
  /** Absolute path of gitbus's bin/gitbus.js. */
  entry: string;
  /** The watcher's grace period on SIGTERM (it is given none on the command line, so its default: 30 s). */
  graceMs?: number;
  /** The service's PATH (service-path.ts: the installing PATH and the runners' folders); default servicePath(nodePath). */
  path?: string;
  /** More variables the watcher needs to find its runners as the installing shell did (GITBUS_CLAUDE_BIN). */
  env?: Record<string, string>;
}

export const DEFAULT_GRACE_MS = 30_000;

/** The service manager waits this much longer than the watcher's grace before it kills: the watcher still has to stop runs (5 s to SIGKILL) and push their releases. */
export const STOP_MARGIN_S = 15;

export function stopTimeoutSeconds(graceMs = DEFAULT_GRACE_MS): number {
  return Math.ceil(graceMs / 1000) + STOP_MARGIN_S;
}

export function assertNodeName(node: string): void {
  if (!NODE_NAME_RE.test(node)) throw new InvalidNameError('node name', node, 'lowercase letters, digits, - and _ (at most 40)');
}

export function systemdUnitName(node: string): string {
  assertNodeName(node);
  return `gitbus-watch-${node}.service`;
}

export function journalCommand(node: string): string {
  return `journalctl --user -u ${systemdUnitName(node)}`;
}

/** PATH for the service: the node binary's folder first, then the usual system folders. */
export function servicePath(nodePath: string): string {
  const dir = nodePath.slice(0, Math.max(1, nodePath.lastIndexOf('/')));
  const dirs = [dir, '/usr/local/bin', '/usr/bin', '/bin'];
  return dirs.filter((d, i) => dirs.indexOf(d) === i).join(':');
}

/** The watcher's command line, as argv. */
export function watcherArgv(spec: WatcherServiceSpec): string[] {
  return [spec.nodePath, spec.entry, 'watch', '--home', spec.home];
}

export function watcherEnv(spec: WatcherServiceSpec): Record<string, string> {
  const env: Record<string, string> = { GITBUS_HOME: spec.home, PATH: spec.path ?? servicePath(spec.nodePath), ...spec.env };
  for (const [name, value] of Object.entries(env)) assertRepresentable(`value of ${name}`, value);
  return env;
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

export function assertRepresentable(what: string, value: string): void {
  if (CONTROL.test(value)) throw new ServicePathError(what, value, 'it contains a newline or another control character');
  // Unit files drop whitespace at the end of a line, and WorkingDirectory= cannot be quoted.
  if (/\s$/.test(value)) throw new ServicePathError(what, value, 'it ends in whitespace');
  // A backslash at the end of a line continues it: WorkingDirectory= would swallow the next setting.
  if (value.endsWith('\\')) throw new ServicePathError(what, value, 'it ends in a backslash');
}

/** Specifiers (`%n`, `%h`, ...) are expanded in most unit settings; a literal percent sign is `%%`. */
function specifierSafe(value: string): string {
  return value.replaceAll('%', '%%');
}

/** Characters an ExecStart word may hold unquoted. */
const PLAIN_WORD = /^[A-Za-z0-9/._,+=:@-]+$/;

/**
 * One word of an ExecStart command line (systemd.service(5), "Command lines"): `$` starts a variable
 * substitution (a literal one is `$$`), `%` a specifier (`%%`); a word with anything else unusual is
 * double-quoted, where `\` and `"` are C-escaped.
 */
export function execWord(word: string): string {
  const text = specifierSafe(word).replaceAll('$', '$$$$');
  if (PLAIN_WORD.test(word)) return text;
  return `"${text.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

/** `Environment="NAME=value"`: quoted as a whole, `\` and `"` escaped, `%` doubled; `$` is literal here. */
export function environmentLine(name: string, value: string): string {
  return `Environment="${specifierSafe(`${name}=${value}`).replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

export function renderSystemdUnit(spec: WatcherServiceSpec): string {
  const unit = systemdUnitName(spec.node);
  for (const [what, value] of [['bus home', spec.home], ['node binary path', spec.nodePath], ['gitbus path', spec.entry]] as const) assertRepresentable(what, value);
  const env = watcherEnv(spec);
  const lines = [
    `# Written by "gitbus service install" for node ${spec.node}; remove it with "gitbus service uninstall".`,
    `# Logs: ${journalCommand(spec.node)}`,
    '[Unit]',
    `Description=gitbus watcher for node ${spec.node}`,
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${watcherArgv(spec).map(execWord).join(' ')}`,
    // WorkingDirectory takes the rest of the line as the path (no quoting); only specifiers need escaping.
    `WorkingDirectory=${specifierSafe(spec.home)}`,
    ...Object.entries(env).map(([k, v]) => environmentLine(k, v)),
    'Restart=on-failure',
    'RestartSec=10s',
    // Usage and setup errors (no bus, no runners, bad settings) do not go away by restarting.
    'RestartPreventExitStatus=2 7',
    // SIGTERM to the watcher only: it lets runs finish within its grace period, then stops them itself. The
    // default (control-group) would SIGTERM every task's processes at once.
    'KillMode=mixed',
    'KillSignal=SIGTERM',
    `TimeoutStopSec=${stopTimeoutSeconds(spec.graceMs)}s`,
    'StandardOutput=journal',
    'StandardError=journal',
    `SyslogIdentifier=${unit.replace(/\.service$/, '')}`,
    '',
    '[Install]',
    'WantedBy=default.target',
    '',
  ];
  return lines.join('\n');
}
