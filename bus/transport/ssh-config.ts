/**
 * Resolves an ssh alias the way OpenSSH 9's client does (ssh_config(5), readconf.c), because ssh2 reads no config
 * files: a user who can `ssh myserver` expects gitbus to reach `myserver` the same way. Only the settings the ssh
 * transport acts on are resolved. Unknown keywords are skipped (OpenSSH would refuse them, but a newer OpenSSH
 * keyword must not break gitbus); the few that would change where or how OpenSSH connects are listed in `ignored`.
 */
import { nodeCrypto } from '../../schemas/node-crypto.js';
import { isIP } from 'node:net';
import os from 'node:os';
import { homedir, userName } from '../user-home-dir.js';
import { expandTilde, includePaths, readConfigText } from './ssh-config-files.js';
import { FLAGS, invalid, parsePort, parseSeconds, parseSshConfig, RULES, STRICT, type SshConfigEntry, type StrictHostKeyChecking } from './ssh-config-parse.js';

// The parser and the file helpers were part of this module; importers of these names need not know that.
export { expandTilde } from './ssh-config-files.js';
export { parseSshConfig, type SshConfigEntry } from './ssh-config-parse.js';

export interface SshHostConfig {
  /** The name as given (alias). */
  alias: string;
  /** HostName (tokens %h %% expanded), or the alias; lower-cased unless an IP address, as OpenSSH does. */
  hostName: string;
  /** User, else the local user name. */
  user: string;
  /** Port, else 22. */
  port: number;
  /** Every IdentityFile in order (they accumulate; `none` dropped), ~ ${ENV} and tokens expanded; [] if none given. */
  identityFiles: string[];
  identitiesOnly: boolean;
  /** IdentityAgent: undefined (use SSH_AUTH_SOCK), 'none', or an expanded path ('SSH_AUTH_SOCK' value means env). */
  identityAgent: string | undefined;
  /** Default ['~/.ssh/known_hosts', '~/.ssh/known_hosts2'] expanded; 'none' -> []. */
  userKnownHostsFiles: string[];
  /** Default ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2']; 'none' -> []. */
  globalKnownHostsFiles: string[];
  /** Default 'ask'; 'off'/'false' -> 'no', 'true' -> 'yes' like OpenSSH. */
  strictHostKeyChecking: StrictHostKeyChecking;
  hashKnownHosts: boolean;
  /** Lower-cased, as OpenSSH uses it for known_hosts lookups. */
  hostKeyAlias: string | undefined;
  /** ConnectTimeout seconds * 1000. */
  connectTimeoutMs: number | undefined;
  serverAliveIntervalMs: number | undefined;
  serverAliveCountMax: number | undefined;
  /** Raw `[user@]host[:port][,...]`; 'none' -> undefined. */
  proxyJump: string | undefined;
  /** 'none' -> undefined; tokens %h %p %r %n %% expanded. */
  proxyCommand: string | undefined;
  /** Keywords gitbus saw but does not act on, with where they were (for `gitbus doctor`), e.g. Match blocks. */
  ignored: { keyword: string; file: string; line: number }[];
}

export interface SshConfigOptions {
  /** Config files in order; default [~/.ssh/config, /etc/ssh/ssh_config] (missing files are skipped). */
  files?: string[];
  /** Default os.homedir(). */
  homeDir?: string;
  /** Default: the passwd entry's name, else $USER or $LOGNAME (bus/user-home-dir.ts). */
  localUser?: string;
  /** Where the system-wide config lives (default /etc/ssh): files under it resolve relative Includes there, not in ~/.ssh. */
  systemDir?: string;
  /** For ${VAR} in IdentityFile, IdentityAgent, UserKnownHostsFile; default process.env. */
  env?: Record<string, string | undefined>;
}

const MAX_INCLUDE_DEPTH = 16;

/** OpenSSH's match_pattern(): `*` any run, `?` one character, everything else literal. */
export function matchPattern(s: string, pattern: string): boolean {
  const source = pattern.replace(/[.+^${}()|[\]\\*?]/g, (c) => (c === '*' ? '[\\s\\S]*' : c === '?' ? '[\\s\\S]' : `\\${c}`));
  return new RegExp(`^${source}$`).test(s);
}

/** OpenSSH's match_pattern_list(): comma-separated patterns; -1 when a `!pattern` matches, 1 on a positive match, else 0. */
export function matchPatternList(s: string, list: string, lowerPatterns: boolean): -1 | 0 | 1 {
  let positive = false;
  for (const raw of list.split(',')) {
    const negated = raw.startsWith('!');
    const pattern = negated ? raw.slice(1) : raw;
    if (!matchPattern(s, lowerPatterns ? pattern.toLowerCase() : pattern)) continue;
    if (negated) return -1;
    positive = true;
  }
  return positive ? 1 : 0;
}

/** `Host` line: whitespace-separated patterns; a matching `!pattern` excludes the block whatever else matches. */
function hostLineMatches(host: string, patterns: string[]): boolean {
  let hit = false;
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    if (!matchPattern(host, negated ? raw.slice(1) : raw)) continue;
    if (negated) return false;
    hit = true;
  }
  return hit;
}

interface Resolution {
  alias: string;
  home: string;
  localUser: string;
  systemDir: string;
  env: Record<string, string | undefined>;
  /** The re-parse OpenSSH does for `Match final` / CanonicalizeHostname: Host then matches the HostName. */
  final: boolean;
  wantFinal: boolean;
  hostName: string | undefined;
  /** First value obtained for each keyword (first wins). */
  first: Map<string, SshConfigEntry>;
  identityFiles: SshConfigEntry[];
  ignored: Map<string, SshHostConfig['ignored'][number]>;
}

/** Resolves `alias` through the config files like `ssh -G alias` would. Throws SshConfigError on a bad line. */
export function resolveSshHost(alias: string, options: SshConfigOptions = {}): SshHostConfig {
  const home = options.homeDir ?? homedir();
  const systemDir = (options.systemDir ?? '/etc/ssh').replace(/\/+$/, '');
  const r: Resolution = {
    alias,
    home,
    localUser: options.localUser ?? userName(options.env ?? process.env),
    systemDir,
    env: options.env ?? process.env,
    final: false,
    wantFinal: false,
    hostName: undefined,
    first: new Map(),
    identityFiles: [],
    ignored: new Map(),
  };
  const files = options.files ?? [`${home}/.ssh/config`, `${systemDir}/ssh_config`];
  const pass = () => {
    for (const file of files) {
      const system = file.startsWith(`${systemDir}/`);
      walkFile(r, file, { system, checkPerm: !system, neverMatch: false }, { active: true }, 0, undefined);
    }
  };
  pass();
  r.hostName = currentHostName(r);
  // OpenSSH re-reads the files after canonicalising; gitbus does not canonicalise, but still re-reads so that
  // `Match final`/`canonical` blocks and Host patterns naming the HostName apply as they would there.
  if (r.wantFinal || FLAGS[r.first.get('canonicalizehostname')?.args[0]?.toLowerCase() ?? 'no'] !== false) {
    r.final = true;
    pass();
  }
  return build(r, r.hostName);
}

interface FileFlags {
  system: boolean;
  checkPerm: boolean;
  /** Inside an Include from a block that did not match: read for errors, but nothing applies. */
  neverMatch: boolean;
}

function walkFile(r: Resolution, file: string, flags: FileFlags, state: { active: boolean }, depth: number, from: SshConfigEntry | undefined): void {
  if (depth > MAX_INCLUDE_DEPTH && from) {
    throw invalid(from, `Include nests deeper than ${MAX_INCLUDE_DEPTH} files (does a file include itself?)`, 'remove the Include loop');
  }
  const text = readConfigText(file, flags.checkPerm);
  if (text === undefined) return;
  for (const e of parseSshConfig(text, file)) {
    if (e.keyword === 'host') state.active = !flags.neverMatch && hostLineMatches(r.final ? (r.hostName ?? r.alias) : r.alias, e.args);
    else if (e.keyword === 'match') state.active = matchBlockApplies(r, e, flags.neverMatch);
    else if (e.keyword === 'include') {
      const outer = state.active;
      for (const path of includePaths(r, e, flags.system)) {
        walkFile(r, path, { system: flags.system, checkPerm: true, neverMatch: flags.neverMatch || !outer }, state, depth + 1, e);
        // A Host or Match inside the included file must not leak into the including file.
        state.active = outer;
      }
    } else if (state.active) apply(r, e);
  }
}

/** Evaluated even under neverMatch, as OpenSSH does, because a `final` criterion anywhere asks for the re-read. */
function matchBlockApplies(r: Resolution, e: SshConfigEntry, neverMatch: boolean): boolean {
  let result = true;
  let unsupported: string | undefined;
  for (let i = 0; i < e.args.length; ) {
    const attr = e.args[i++] ?? '';
    const negate = attr.startsWith('!');
    const criterion = (negate ? attr.slice(1) : attr).toLowerCase();
    if (criterion === 'all') {
      result &&= !negate;
      break;
    }
    if (criterion === 'canonical' || criterion === 'final') {
      // Both match only in the re-parse (gitbus does no canonicalisation, so that is the `Match final` pass).
      if (criterion === 'final' && !r.final) r.wantFinal = true;
      if (r.final === negate) result = false;
      continue;
    }
    const pattern = e.args[i++] ?? '';
    const subject = matchSubject(r, criterion);
    if (subject === undefined) unsupported ??= criterion;
    else if ((matchPatternList(subject.value, pattern, subject.lower) === 1) === negate) result = false;
  }
  if (neverMatch) return false;
  if (result && unsupported !== undefined) {
    // `exec` would run a command, and newer criteria are unknown: not applying the block is the safe reading.
    record(r, `Match ${unsupported}`, e);
    return false;
  }
  return result;
}

function matchSubject(r: Resolution, criterion: string): { value: string; lower: boolean } | undefined {
  switch (criterion) {
    case 'host':
      return { value: (r.final ? (r.hostName ?? r.alias) : expandHostName(r)).toLowerCase(), lower: true };
    case 'originalhost':
      return { value: r.alias.toLowerCase(), lower: true };
    case 'user':
      return { value: r.first.get('user')?.args[0] ?? r.localUser, lower: false };
    case 'localuser':
      return { value: r.localUser, lower: false };
    default:
      return undefined;
  }
}

function apply(r: Resolution, e: SshConfigEntry): void {
  const arg = e.args[0] ?? '';
  switch (e.keyword) {
    case 'identityfile':
      if (!r.identityFiles.some((f) => f.args[0] === arg)) r.identityFiles.push(e);
      return;
    case 'certificatefile':
      record(r, e.name, e);
      return;
    case 'proxycommand': {
      // Whichever of ProxyJump and ProxyCommand comes first wins; `ProxyJump none` does not block a ProxyCommand.
      const jump = r.first.get('proxyjump');
      if (r.first.has('proxycommand') || (jump && !isNone(proxyJumpValue(jump)))) return;
      break;
    }
    case 'proxyjump':
      if (r.first.has('proxycommand')) return;
      break;
    case 'connecttimeout':
    case 'serveraliveinterval':
      // `none` means "unset" in OpenSSH, so a later value still applies.
      if (arg === 'none') return;
      break;
  }
  if (r.first.has(e.keyword)) return;
  r.first.set(e.keyword, e);
  const rule = RULES[e.keyword];
  if (rule?.ignoredWhen?.(rule.arity === 'rest' ? e.rest.trim() : arg)) record(r, e.name, e);
}

function ignoredKey(e: SshConfigEntry | undefined): string {
  return e ? `${e.file}:${e.line}:${e.keyword}` : '';
}

function record(r: Resolution, keyword: string, e: SshConfigEntry): void {
  const key = ignoredKey(e);
  if (!r.ignored.has(key)) r.ignored.set(key, { keyword, file: e.file, line: e.line });
}

function isNone(value: string | undefined): boolean {
  return value?.toLowerCase() === 'none';
}

function proxyJumpValue(e: SshConfigEntry): string {
  return (e.rest.split('#')[0] ?? '').replace(/^[ \t=]+/, '').trimEnd();
}

/** HostName with %h expanded, or the alias, as OpenSSH has it after the first pass. */
function expandHostName(r: Resolution): string {
  const e = r.first.get('hostname');
  return e ? expandTokens(e.args[0] ?? '', { h: r.alias }, e) : r.alias;
}

function currentHostName(r: Resolution): string {
  const host = expandHostName(r);
  return isIP(host) ? host : host.toLowerCase();
}

function expandTokens(value: string, tokens: Record<string, string>, e: SshConfigEntry): string {
  return value.replace(/%(.?)/gs, (_m, c: string) => {
    if (c === '%') return '%';
    if (Object.hasOwn(tokens, c)) return tokens[c] ?? '';
    const known = Object.keys(tokens).map((t) => `%${t}`).join(' ');
    throw invalid(e, `${e.name} uses ${c ? `%${c}` : 'a lone %'}, which it does not accept`, `use only ${known} or %% (a literal %) in ${e.name}`);
  });
}

function expandEnv(value: string, env: Record<string, string | undefined>, e: SshConfigEntry): string {
  return value.replace(/\$\{([^}]*)\}|\$\{.*$/g, (m, name: string | undefined) => {
    const v = name !== undefined && /^[A-Za-z_]\w*$/.test(name) ? env[name] : undefined;
    if (v === undefined) throw invalid(e, `${e.name} uses ${m}, which is not a set environment variable`, `set the variable before running gitbus, or write the path out in ${e.name}`);
    return v;
  });
}

function build(r: Resolution, hostName: string): SshHostConfig {
  const arg = (keyword: string) => r.first.get(keyword)?.args[0];
  const user = arg('user') ?? r.localUser;
  const port = parsePort(arg('port') ?? '') ?? 22;
  const hostKeyAlias = arg('hostkeyalias')?.toLowerCase();
  const localHost = os.hostname();
  const tokens: Record<string, string> = {
    C: nodeCrypto().createHash('sha1').update(`${localHost}${hostName}${port}${user}`).digest('hex'),
    L: localHost.split('.')[0] ?? localHost,
    d: r.home,
    h: hostName,
    i: String(process.getuid?.() ?? -1),
    k: hostKeyAlias ?? r.alias,
    l: localHost,
    n: r.alias,
    p: String(port),
    r: user,
    u: r.localUser,
  };
  const path = (value: string, e: SshConfigEntry) => expandTokens(expandEnv(expandTilde(value, r.home), r.env, e), tokens, e);
  const listOf = (keyword: string, fallback: string[], expand: (v: string, e: SshConfigEntry) => string) => {
    const e = r.first.get(keyword);
    if (!e) return fallback.map((f) => expandTilde(f, r.home));
    return isNone(e.args[0]) ? [] : e.args.map((a) => expand(a, e));
  };
  const seconds = (keyword: string) => {
    const v = arg(keyword);
    return v === undefined ? undefined : (parseSeconds(v) ?? 0) * 1000;
  };
  const jumpEntry = r.first.get('proxyjump');
  const jump = jumpEntry ? proxyJumpValue(jumpEntry) : undefined;
  const command = r.first.get('proxycommand');
  const commandText = command?.rest.replace(/^[ \t=]+/, '');
  return {
    alias: r.alias,
    hostName,
    user,
    port,
    identityFiles: r.identityFiles.filter((e) => !isNone(e.args[0])).map((e) => path(e.args[0] ?? '', e)),
    identitiesOnly: FLAGS[arg('identitiesonly')?.toLowerCase() ?? 'no'] ?? false,
    identityAgent: identityAgent(r, path),
    userKnownHostsFiles: listOf('userknownhostsfile', ['~/.ssh/known_hosts', '~/.ssh/known_hosts2'], path),
    globalKnownHostsFiles: listOf('globalknownhostsfile', ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'], (v) => expandTilde(v, r.home)),
    strictHostKeyChecking: STRICT[arg('stricthostkeychecking')?.toLowerCase() ?? 'ask'] ?? 'ask',
    hashKnownHosts: FLAGS[arg('hashknownhosts')?.toLowerCase() ?? 'no'] ?? false,
    hostKeyAlias,
    connectTimeoutMs: seconds('connecttimeout'),
    serverAliveIntervalMs: seconds('serveraliveinterval'),
    serverAliveCountMax: arg('serveralivecountmax') === undefined ? undefined : Number(arg('serveralivecountmax')),
    proxyJump: jump === undefined || isNone(jump) ? undefined : jump,
    proxyCommand:
      command && commandText !== undefined && !isNone(commandText) ? expandTokens(commandText, { h: hostName, n: r.alias, p: String(port), r: user }, command) : undefined,
    ignored: [...r.ignored.values()],
  };
}

function identityAgent(r: Resolution, path: (value: string, e: SshConfigEntry) => string): string | undefined {
  const e = r.first.get('identityagent');
  if (!e) return undefined;
  const value = path(e.args[0] ?? '', e);
  if (value === 'SSH_AUTH_SOCK') return undefined;
  // `$NAME` (no braces) is OpenSSH's older form: the socket path is in that variable, and unset means no agent.
  if (value.startsWith('$')) return r.env[value.slice(1)] ?? 'none';
  return value;
}
