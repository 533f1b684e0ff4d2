/**
 * Resolves an ssh alias the way OpenSSH 9's client does (ssh_config(5), readconf.c), because ssh2 reads no config
 * files: a user who can `ssh myserver` expects gitbus to reach `myserver` the same way. Only the settings the ssh
 * transport acts on are resolved. Unknown keywords are skipped (OpenSSH would refuse them, but a newer OpenSSH
 * keyword must not break gitbus); the few that would change where or how OpenSSH connects are listed in `ignored`.
 */
import { readFileSync, readdirSync, statSync, type Stats } from 'node:fs';
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import os from 'node:os';
import { isAbsolute } from 'node:path';
import { SshConfigError } from './ssh-errors.js';

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
  strictHostKeyChecking: 'yes' | 'ask' | 'accept-new' | 'no';
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
  /** Default os.userInfo().username. */
  localUser?: string;
  /** Where the system-wide config lives (default /etc/ssh): files under it resolve relative Includes there, not in ~/.ssh. */
  systemDir?: string;
  /** For ${VAR} in IdentityFile, IdentityAgent, UserKnownHostsFile; default process.env. */
  env?: Record<string, string | undefined>;
}

/** One `Keyword arguments` line of a config file. */
export interface SshConfigEntry {
  file: string;
  line: number;
  /** Lower case, with Debian's aliases folded in (SetupTimeOut -> serveraliveinterval). */
  keyword: string;
  /** The keyword as written, for messages. */
  name: string;
  /** Arguments split and unquoted like OpenSSH's argv_split: '…' "…" and \-escapes; a `#` word ends the line. */
  args: string[];
  /** Everything after the keyword and its separator, verbatim: ProxyCommand and ProxyJump take the whole rest. */
  rest: string;
}

const MAX_INCLUDE_DEPTH = 16;
const FLAGS: Record<string, boolean> = { yes: true, true: true, no: false, false: false };
const STRICT: Record<string, SshHostConfig['strictHostKeyChecking']> = { yes: 'yes', true: 'yes', no: 'no', false: 'no', off: 'no', ask: 'ask', 'accept-new': 'accept-new' };
const ALIASES: Record<string, string> = { setuptimeout: 'serveraliveinterval', protocolkeepalives: 'serveraliveinterval', pubkeyacceptedkeytypes: 'pubkeyacceptedalgorithms' };

interface Rule {
  /** 'one': exactly one argument; 'many': one or more; 'rest': takes the raw rest of the line. */
  arity: 'one' | 'many' | 'rest';
  /** Returns what is wrong with one argument, if anything. */
  check?: (arg: string) => string | undefined;
  example: string;
  /** Recorded in `ignored` when it takes effect with this value (it would change how OpenSSH connects). */
  ignoredWhen?: (arg: string) => boolean;
}

const oneOf = (table: Record<string, unknown>) => (arg: string) =>
  Object.hasOwn(table, arg.toLowerCase()) ? undefined : `must be one of ${Object.keys(table).join(', ')}`;
const always = () => true;
const checkPort = (arg: string) => (parsePort(arg) === undefined ? 'is not a port number (1-65535)' : undefined);
const checkTime = (arg: string) => (arg === 'none' || parseSeconds(arg) !== undefined ? undefined : 'is not a time (seconds, or e.g. 1m30s)');
const checkCount = (arg: string) => (/^\d{1,9}$/.test(arg) ? undefined : 'is not a whole number');
const checkNoneAlone = (arg: string) => (arg.toLowerCase() === 'none' ? 'none must be the only value' : undefined);
const checkAgent = (arg: string) => (/^\$(?!\{)(?![A-Za-z_]\w*$)/.test(arg) ? 'names an invalid environment variable' : undefined);

const RULES: Record<string, Rule> = {
  host: { arity: 'many', example: 'Host myserver *.example.com' },
  match: { arity: 'many', example: 'Match host *.example.com' },
  include: { arity: 'many', example: 'Include config.d/*' },
  hostname: { arity: 'one', example: 'HostName server.example.com' },
  user: { arity: 'one', example: 'User git' },
  port: { arity: 'one', check: checkPort, example: 'Port 2222' },
  identityfile: { arity: 'one', example: 'IdentityFile ~/.ssh/id_ed25519' },
  identitiesonly: { arity: 'one', check: oneOf(FLAGS), example: 'IdentitiesOnly yes' },
  identityagent: { arity: 'one', check: checkAgent, example: 'IdentityAgent ~/.ssh/agent.sock' },
  userknownhostsfile: { arity: 'many', example: 'UserKnownHostsFile ~/.ssh/known_hosts' },
  globalknownhostsfile: { arity: 'many', example: 'GlobalKnownHostsFile /etc/ssh/ssh_known_hosts' },
  stricthostkeychecking: { arity: 'one', check: oneOf(STRICT), example: 'StrictHostKeyChecking accept-new' },
  hashknownhosts: { arity: 'one', check: oneOf(FLAGS), example: 'HashKnownHosts yes' },
  hostkeyalias: { arity: 'one', example: 'HostKeyAlias myserver' },
  connecttimeout: { arity: 'one', check: checkTime, example: 'ConnectTimeout 10' },
  serveraliveinterval: { arity: 'one', check: checkTime, example: 'ServerAliveInterval 30' },
  serveralivecountmax: { arity: 'one', check: checkCount, example: 'ServerAliveCountMax 3' },
  proxyjump: { arity: 'rest', example: 'ProxyJump user@bastion.example.com' },
  proxycommand: { arity: 'rest', example: 'ProxyCommand nc -X connect -x proxy:8080 %h %p' },
  // Below: settings that would change where or how OpenSSH connects, which the ssh2 transport does not do.
  canonicalizehostname: { arity: 'one', check: oneOf({ ...FLAGS, always: 1 }), example: 'CanonicalizeHostname no', ignoredWhen: (a) => FLAGS[a.toLowerCase()] !== false },
  addressfamily: { arity: 'one', check: oneOf({ any: 1, inet: 1, inet6: 1 }), example: 'AddressFamily any', ignoredWhen: (a) => a.toLowerCase() !== 'any' },
  certificatefile: { arity: 'one', example: 'CertificateFile ~/.ssh/id_ed25519-cert.pub', ignoredWhen: always },
  bindaddress: { arity: 'one', example: 'BindAddress 192.0.2.1', ignoredWhen: always },
  bindinterface: { arity: 'one', example: 'BindInterface eth0', ignoredWhen: always },
  pkcs11provider: { arity: 'one', example: 'PKCS11Provider none', ignoredWhen: (a) => a !== 'none' },
  securitykeyprovider: { arity: 'one', example: 'SecurityKeyProvider internal', ignoredWhen: always },
  knownhostscommand: { arity: 'rest', example: 'KnownHostsCommand none', ignoredWhen: (a) => a !== 'none' },
  hostkeyalgorithms: { arity: 'one', example: 'HostKeyAlgorithms ssh-ed25519', ignoredWhen: always },
  kexalgorithms: { arity: 'one', example: 'KexAlgorithms curve25519-sha256', ignoredWhen: always },
  ciphers: { arity: 'one', example: 'Ciphers aes128-ctr', ignoredWhen: always },
  macs: { arity: 'one', example: 'MACs hmac-sha2-256', ignoredWhen: always },
  pubkeyacceptedalgorithms: { arity: 'one', example: 'PubkeyAcceptedAlgorithms ssh-ed25519', ignoredWhen: always },
};

/** `~` and `~/x` -> the home directory (like OpenSSH's tilde_expand; `~user` is left alone). */
export function expandTilde(path: string, homeDir: string = os.homedir()): string {
  if (path === '~') return homeDir;
  if (!path.startsWith('~/')) return path;
  return `${homeDir.endsWith('/') ? homeDir : `${homeDir}/`}${path.slice(2).replace(/^\/+/, '')}`;
}

/** Parses config text into entries for the keywords gitbus knows; throws SshConfigError on a line OpenSSH would refuse. */
export function parseSshConfig(text: string, file: string): SshConfigEntry[] {
  const entries: SshConfigEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const entry = parseLine(raw, file, i + 1);
    if (entry) entries.push(entry);
  });
  return entries;
}

function parseLine(raw: string, file: string, line: number): SshConfigEntry | undefined {
  // Like strdelim(): the keyword ends at whitespace, a quote or '='; one '=' may separate it from the value.
  const m = /^[ \t]*([^ \t"=]*)[ \t]*(?:=[ \t]*)?(.*)$/s.exec(raw.replace(/[ \t\r\n\f]+$/, ''));
  const name = m?.[1] ?? '';
  if (name === '' || name.startsWith('#')) return undefined;
  const keyword = ALIASES[name.toLowerCase()] ?? name.toLowerCase();
  const rule = RULES[keyword];
  if (!rule) return undefined;
  const rest = m?.[2] ?? '';
  const entry: SshConfigEntry = { file, line, keyword, name, args: [], rest };
  const fix = `write it like \`${rule.example}\`, or delete the line`;
  const args = splitArgs(rest);
  if (!args) throw invalid(entry, `${name} has an unclosed quote`, 'close the quote (") or remove it');
  entry.args = args;
  if (args.length === 0) throw invalid(entry, `${name} has no value`, fix);
  if (rule.arity === 'one' && args.length > 1) throw invalid(entry, `${name} takes one value, got ${args.length}: ${rest}`, `${fix}; quote a value that contains spaces`);
  if (rule.arity !== 'rest' && args.includes('')) throw invalid(entry, `${name} has an empty value`, fix);
  if (keyword === 'userknownhostsfile' || keyword === 'globalknownhostsfile') {
    if (args.length > 1 && args.some((a) => checkNoneAlone(a))) throw invalid(entry, `${name}: none must be the only value`, fix);
  }
  if (keyword === 'match') checkMatchSyntax(entry);
  for (const arg of rule.arity === 'one' ? args : []) {
    const problem = rule.check?.(arg);
    if (problem) throw invalid(entry, `${name} ${JSON.stringify(arg)} ${problem}`, fix);
  }
  return entry;
}

/** OpenSSH's argv_split(): words split on space/tab, '…' and "…" quote, \' \" \\ and \<space> escape, `#` starts a comment. */
function splitArgs(s: string): string[] | undefined {
  const args: string[] = [];
  let i = 0;
  while (i < s.length) {
    if (s[i] === ' ' || s[i] === '\t') {
      i++;
      continue;
    }
    if (s[i] === '#') break;
    let arg = '';
    let quote = '';
    for (; i < s.length; i++) {
      const c = s[i] ?? '';
      const next = s[i + 1] ?? '';
      if (c === '\\' && (next === "'" || next === '"' || next === '\\' || (!quote && next === ' '))) {
        arg += next;
        i++;
      } else if (!quote && (c === ' ' || c === '\t')) break;
      else if (!quote && (c === '"' || c === "'")) quote = c;
      else if (quote && c === quote) quote = '';
      else arg += c;
    }
    if (quote) return undefined;
    args.push(arg);
  }
  return args;
}

function checkMatchSyntax(e: SshConfigEntry): void {
  let attributes = 0;
  for (let i = 0; i < e.args.length; ) {
    const attr = e.args[i++] ?? '';
    const criterion = attr.replace(/^!/, '').toLowerCase();
    if (criterion === 'all') {
      if (attributes > 1 || i < e.args.length) throw invalid(e, `Match ${attr} cannot be combined with other criteria`, 'write `Match all` alone (or after canonical/final)');
      return;
    }
    attributes++;
    if (criterion === 'canonical' || criterion === 'final') continue;
    if (i >= e.args.length) throw invalid(e, `Match ${attr} needs a value`, `write it like \`Match ${criterion} <pattern>\``);
    i++;
  }
}

function invalid(e: SshConfigEntry, problem: string, fix: string): SshConfigError {
  return new SshConfigError(e.file, e.line, e.name, problem, fix);
}

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

function parsePort(arg: string): number | undefined {
  const n = /^\d{1,5}$/.test(arg) ? Number(arg) : 0;
  return n >= 1 && n <= 65535 ? n : undefined;
}

/** OpenSSH's convtime(): `90`, `1m30s`, `2h` ... (s m h d w, any case). */
function parseSeconds(arg: string): number | undefined {
  if (!/^(\d+[smhdwSMHDW]?)+$/.test(arg)) return undefined;
  const unit: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
  let total = 0;
  for (const [, n, u] of arg.matchAll(/(\d+)([a-zA-Z]?)/g)) total += Number(n) * (unit[(u || 's').toLowerCase()] ?? 1);
  return total <= 2147483647 ? total : undefined;
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
  const home = options.homeDir ?? os.homedir();
  const systemDir = (options.systemDir ?? '/etc/ssh').replace(/\/+$/, '');
  const r: Resolution = {
    alias,
    home,
    localUser: options.localUser ?? os.userInfo().username,
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

function readConfigText(file: string, checkPerm: boolean): string | undefined {
  let st: Stats | undefined;
  try {
    st = statSync(file, { throwIfNoEntry: false });
    if (!st || st.isDirectory()) return undefined;
    if (checkPerm) checkPermissions(file, st);
    return readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof SshConfigError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new SshConfigError(file, 0, '', `cannot be read (${code ?? String(err)})`, `make ${file} readable by you (chmod 600 ${file}), or remove it`, { cause: err });
  }
}

/** OpenSSH refuses a user config that others could write (it could set ProxyCommand): so do we. */
function checkPermissions(file: string, st: Stats): void {
  const uid = process.getuid?.();
  if (uid === undefined) return;
  if ((st.uid !== 0 && st.uid !== uid) || (st.mode & 0o022) !== 0) {
    throw new SshConfigError(
      file,
      0,
      '',
      `has bad owner or permissions (mode ${(st.mode & 0o777).toString(8)}, owner uid ${st.uid}); OpenSSH refuses to use it`,
      `make it yours and writable only by you: chown $(id -u) ${file} && chmod 600 ${file}`,
    );
  }
}

function includePaths(r: Resolution, e: SshConfigEntry, system: boolean): string[] {
  return e.args.flatMap((arg) => {
    if (arg.startsWith('~') && system) throw invalid(e, `Include ${arg}: ~ is not allowed in the system-wide config`, 'give an absolute path');
    const path = arg.startsWith('~') ? expandTilde(arg, r.home) : isAbsolute(arg) ? arg : `${system ? r.systemDir : `${r.home}/.ssh`}/${arg}`;
    return globPaths(path);
  });
}

/** glob(3) for absolute paths: `*` `?` `[…]` in any component, dotfiles only when the pattern starts with '.', sorted. */
function globPaths(pattern: string): string[] {
  if (!/[*?[]/.test(pattern)) return [pattern];
  let found = [''];
  for (const part of pattern.split('/').slice(1)) {
    if (!/[*?[]/.test(part)) {
      found = found.map((dir) => `${dir}/${part}`);
      continue;
    }
    const re = globComponent(part);
    found = found.flatMap((dir) => listDir(dir || '/').filter((name) => re.test(name) && (part.startsWith('.') || !name.startsWith('.'))).map((name) => `${dir}/${name}`));
  }
  return found.sort();
}

function globComponent(part: string): RegExp {
  let source = '';
  for (let i = 0; i < part.length; i++) {
    const c = part[i] ?? '';
    const close = c === '[' ? part.indexOf(']', i + 2) : -1;
    if (c === '*') source += '.*';
    else if (c === '?') source += '.';
    else if (close > 0) {
      source += `[${part.slice(i + 1, close).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`;
      i = close;
    } else source += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 's');
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
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
    C: createHash('sha1').update(`${localHost}${hostName}${port}${user}`).digest('hex'),
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
