import { assertNodeName, assertRepresentable, stopTimeoutSeconds, watcherArgv, watcherEnv, type WatcherServiceSpec } from './systemd-unit.js';

/** Pure: the macOS LaunchAgent (~/Library/LaunchAgents/<label>.plist) that runs `gitbus watch` for one node. */

export function launchdLabel(node: string): string {
  assertNodeName(node);
  return `dev.gitbus.watch.${node}`;
}

export function launchdPlistName(node: string): string {
  return `${launchdLabel(node)}.plist`;
}

/** Where the agent's stdout and stderr go: launchd has no journal. */
export function launchdLogPath(home: string): string {
  return `${home.replace(/\/+$/, '')}/logs/watcher.log`;
}

export function xmlEscape(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;').replaceAll("'", '&apos;');
}

const str = (s: string) => `<string>${xmlEscape(s)}</string>`;
const key = (k: string) => `<key>${xmlEscape(k)}</key>`;

export function renderLaunchdPlist(spec: WatcherServiceSpec): string {
  const label = launchdLabel(spec.node);
  for (const [what, value] of [['bus home', spec.home], ['node binary path', spec.nodePath], ['gitbus path', spec.entry]] as const) assertRepresentable(what, value);
  const log = launchdLogPath(spec.home);
  const env = watcherEnv(spec);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    `<!-- Written by "gitbus service install" for node ${spec.node}; remove it with "gitbus service uninstall". Logs: StandardOutPath below. -->`,
    '<plist version="1.0">',
    '<dict>',
    `  ${key('Label')}`,
    `  ${str(label)}`,
    `  ${key('ProgramArguments')}`,
    '  <array>',
    ...watcherArgv(spec).map((a) => `    ${str(a)}`),
    '  </array>',
    `  ${key('EnvironmentVariables')}`,
    '  <dict>',
    ...Object.entries(env).flatMap(([k, v]) => [`    ${key(k)}`, `    ${str(v)}`]),
    '  </dict>',
    `  ${key('WorkingDirectory')}`,
    `  ${str(spec.home)}`,
    `  ${key('RunAtLoad')}`,
    '  <true/>',
    // Restart when the watcher crashes or exits with an error; a clean exit (SIGTERM, `launchctl bootout`) stays down.
    `  ${key('KeepAlive')}`,
    '  <dict>',
    `    ${key('SuccessfulExit')}`,
    '    <false/>',
    '  </dict>',
    `  ${key('ThrottleInterval')}`,
    '  <integer>10</integer>',
    // launchd sends SIGTERM, then SIGKILL after ExitTimeOut (default 20 s): longer than the watcher's grace.
    `  ${key('ExitTimeOut')}`,
    `  <integer>${stopTimeoutSeconds(spec.graceMs)}</integer>`,
    `  ${key('StandardOutPath')}`,
    `  ${str(log)}`,
    `  ${key('StandardErrorPath')}`,
    `  ${str(log)}`,
    '</dict>',
    '</plist>',
    '',
  ];
  return lines.join('\n');
}
