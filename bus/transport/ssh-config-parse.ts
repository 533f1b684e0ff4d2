/**
 * The line parser for ssh_config(5) files (OpenSSH 9's readconf.c): splits each `Keyword arguments` line like
 * OpenSSH does and refuses, with SshConfigError, a line OpenSSH would refuse. Only the keywords gitbus knows become
 * entries; resolving them for a host is ssh-config.ts's job.
 */
import { SshConfigError } from './ssh-errors.js';

/** SshHostConfig's strictHostKeyChecking: what STRICT maps each accepted spelling to. */
export type StrictHostKeyChecking = 'yes' | 'ask' | 'accept-new' | 'no';

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

export const FLAGS: Record<string, boolean> = { yes: true, true: true, no: false, false: false };
export const STRICT: Record<string, StrictHostKeyChecking> = { yes: 'yes', true: 'yes', no: 'no', false: 'no', off: 'no', ask: 'ask', 'accept-new': 'accept-new' };
const ALIASES: Record<string, string> = { setuptimeout: 'serveraliveinterval', protocolkeepalives: 'serveraliveinterval', pubkeyacceptedkeytypes: 'pubkeyacceptedalgorithms' };

export interface Rule {
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

export const RULES: Record<string, Rule> = {
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

/** The SshConfigError for entry `e`, naming its file, line and keyword. */
export function invalid(e: SshConfigEntry, problem: string, fix: string): SshConfigError {
  return new SshConfigError(e.file, e.line, e.name, problem, fix);
}

export function parsePort(arg: string): number | undefined {
  const n = /^\d{1,5}$/.test(arg) ? Number(arg) : 0;
  return n >= 1 && n <= 65535 ? n : undefined;
}

/** OpenSSH's convtime(): `90`, `1m30s`, `2h` ... (s m h d w, any case). */
export function parseSeconds(arg: string): number | undefined {
  if (!/^(\d+[smhdwSMHDW]?)+$/.test(arg)) return undefined;
  const unit: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
  let total = 0;
  for (const [, n, u] of arg.matchAll(/(\d+)([a-zA-Z]?)/g)) total += Number(n) * (unit[(u || 's').toLowerCase()] ?? 1);
  return total <= 2147483647 ? total : undefined;
}
