import type { FileProblem } from '../../schemas/errors.js';
import { isSignatureError } from './errors.js';
import { parsePublicKeyLine, sameKey, type SshPublicKey } from './ssh-key.js';

/**
 * git's allowed_signers format (`man ssh-keygen`, ALLOWED SIGNERS; OpenSSH sshsig.c), as `trust/allowed_signers`
 * holds it: `principals [options] keytype base64 [comment]` per line, `#` comments. Parsed as ssh-keygen parses it,
 * so a file that works with `ssh-keygen -Y verify` means the same here; lines ssh-keygen would skip are skipped,
 * and each is reported with its reason.
 *
 * Time: `valid-after`/`valid-before` bound the key's validity as of NOW on the verifying machine, exactly as
 * `ssh-keygen -Y verify` does without `verify-time`. A signature carries no trusted time (its signer could write
 * any date), so no time a signature or a file claims is ever used here: an expired key stays expired whatever a
 * signature says, and a backdated signature cannot revive it. Expiry is not revocation either: removing the line
 * (or a node's own revocation list) is.
 */

export interface AllowedSigner {
  /** 1-based line number in the file. */
  line: number;
  /** The principals field split at commas: patterns (`*`, `?`, a leading `!` negates), as written. */
  principals: string[];
  key: SshPublicKey;
  /** The `namespaces=` pattern-list, or null when the line allows every namespace. */
  namespaces: string | null;
  /** `valid-after=` / `valid-before=` as epoch milliseconds, or null. */
  validAfter: number | null;
  validBefore: number | null;
}

export interface AllowedSigners {
  entries: AllowedSigner[];
  /** Lines that were skipped (errors) or read with a caveat (warnings), with the fix. */
  problems: FileProblem[];
}

export interface SignerLookup {
  /** The principals fields (as patterns) of every line that lists this key and lets it sign this namespace now. */
  principals: string[];
  /** Lines that list the key but do not count now, and why (namespace not allowed, not valid yet, expired). */
  refused: { line: number; principals: string[]; reason: string }[];
}

/** Key type names OpenSSH knows: a first word that is one of these starts the key; anything else is options. */
const KEY_TYPE_RE = /^(ssh-(ed25519|rsa|dss|xmss)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com|[a-z0-9-]+-cert-v01@openssh\.com|ssh-(ed25519|xmss)@openssh\.com)$/;

// ----- OpenSSH's pattern matching (match.c): `*` any run, `?` one character, case-sensitive -----

export function matchPattern(s: string, pattern: string): boolean {
  // Iterative glob with backtracking to the last `*`: linear in practice, no regex built from bus text.
  let si = 0;
  let pi = 0;
  let star = -1;
  let mark = 0;
  while (si < s.length) {
    const pc = pattern[pi];
    if (pc === '*') {
      star = pi++;
      mark = si;
    } else if (pi < pattern.length && (pc === '?' || pc === s[si])) {
      pi++;
      si++;
    } else if (star >= 0) {
      pi = star + 1;
      si = ++mark;
    } else return false;
  }
  while (pattern[pi] === '*') pi++;
  return pi === pattern.length;
}

/**
 * `match_pattern_list`: a comma-separated list of patterns; true when one matches and no negated (`!`) one does.
 */
export function matchPatternList(s: string, list: string): boolean {
  let positive = false;
  for (const raw of list.split(',')) {
    const negated = raw.startsWith('!');
    const pattern = negated ? raw.slice(1) : raw;
    if (!matchPattern(s, pattern)) continue;
    if (negated) return false;
    positive = true;
  }
  return positive;
}

// ----- times -----

/** `YYYYMMDD[HHMM[SS]]` with an optional `Z`/`UTC` suffix (OpenSSH parse_absolute_time); epoch ms, or a reason. */
export function parseSshTime(text: string): { ms: number; utc: boolean } | { error: string } {
  let s = text;
  let utc = false;
  if (/z$/i.test(s) && s.length > 1) {
    utc = true;
    s = s.slice(0, -1);
  } else if (/utc$/i.test(s) && s.length > 3) {
    utc = true;
    s = s.slice(0, -3);
  }
  if (!/^[0-9]{8}([0-9]{4}([0-9]{2})?)?$/.test(s)) return { error: `"${text}" is not YYYYMMDD, YYYYMMDDHHMM or YYYYMMDDHHMMSS (with Z for UTC)` };
  const n = (a: number, b: number): number => Number(s.slice(a, b));
  const [y, mo, d, h, mi, se] = [n(0, 4), n(4, 6), n(6, 8), s.length > 8 ? n(8, 10) : 0, s.length > 8 ? n(10, 12) : 0, s.length > 12 ? n(12, 14) : 0];
  const parts = [y, mo - 1, d, h, mi, se] as const;
  const ms = utc ? Date.UTC(...parts) : new Date(...parts).getTime();
  const back = new Date(ms);
  const same = utc
    ? back.getUTCFullYear() === y && back.getUTCMonth() === mo - 1 && back.getUTCDate() === d && back.getUTCHours() === h && back.getUTCMinutes() === mi && back.getUTCSeconds() === se
    : back.getFullYear() === y && back.getMonth() === mo - 1 && back.getDate() === d && back.getHours() === h && back.getMinutes() === mi && back.getSeconds() === se;
  if (!Number.isFinite(ms) || !same || y < 1970) return { error: `"${text}" is not a real date and time` };
  return { ms, utc };
}

// ----- the file -----

interface LineParts {
  principals: string;
  options: string | null;
  keyText: string;
}

/** Splits a line into principals, options and key as OpenSSH does (strdelimw, sshkey_advance_past_options). */
function splitLine(line: string): LineParts | { error: string } {
  let rest = line.replace(/^[ \t\r\n]+/, '');
  let principals: string;
  if (rest.startsWith('"')) {
    const close = rest.indexOf('"', 1);
    if (close < 0) return { error: 'the quoted principals have no closing quote' };
    principals = rest.slice(1, close);
    rest = rest.slice(close + 1);
    if (rest !== '' && !/^[ \t]/.test(rest)) return { error: 'the quoted principals must be followed by a space' };
  } else {
    const m = /^[^ \t]+/.exec(rest);
    principals = m?.[0] ?? '';
    rest = rest.slice(principals.length);
  }
  rest = rest.replace(/^[ \t]+/, '').replace(/[\r\n]+$/, '');
  if (principals === '' || rest === '') return { error: 'a line needs principals and a key ("user@example.com ssh-ed25519 AAAA...")' };
  const first = /^[^ \t]+/.exec(rest)?.[0] ?? '';
  if (KEY_TYPE_RE.test(first)) return { principals, options: null, keyText: rest };
  // Options run to the first white space outside double quotes.
  let i = 0;
  let quoted = false;
  for (; i < rest.length; i++) {
    const c = rest[i];
    if (c === '"') quoted = !quoted;
    else if (c === '\\' && rest[i + 1] === '"') i++;
    else if (!quoted && (c === ' ' || c === '\t')) break;
  }
  if (quoted) return { error: 'the options have an unclosed quote' };
  const keyText = rest.slice(i).replace(/^[ \t]+/, '');
  if (keyText === '') return { error: `missing key after the options ${JSON.stringify(rest.slice(0, 80))}` };
  return { principals, options: rest.slice(0, i), keyText };
}

/** A quoted option value (OpenSSH opt_dequote): `"..."` with `\"` for a quote. */
function dequote(s: string, at: number): { value: string; next: number } | { error: string } {
  if (s[at] !== '"') return { error: 'missing start quote (write the value in double quotes)' };
  let value = '';
  let i = at + 1;
  for (; i < s.length && s[i] !== '"'; i++) {
    if (s[i] === '\\' && s[i + 1] === '"') i++;
    value += s[i];
  }
  if (i >= s.length) return { error: 'missing end quote' };
  return { value, next: i + 1 };
}

interface Options {
  certAuthority: boolean;
  namespaces: string | null;
  validAfter: { ms: number; utc: boolean } | null;
  validBefore: { ms: number; utc: boolean } | null;
}

/** The options field, as OpenSSH's sshsigopt_parse reads it: keywords case-insensitive, unknown ones refused. */
function parseOptions(text: string): Options | { error: string } {
  const o: Options = { certAuthority: false, namespaces: null, validAfter: null, validBefore: null };
  let at = 0;
  while (at < text.length) {
    const rest = text.slice(at);
    const lower = rest.toLowerCase();
    if (lower.startsWith('cert-authority')) {
      o.certAuthority = true;
      at += 'cert-authority'.length;
    } else {
      const key = ['namespaces', 'valid-after', 'valid-before'].find((k) => lower.startsWith(`${k}=`));
      if (key === undefined) return { error: `unknown option ${JSON.stringify(rest.split(',')[0]?.slice(0, 40) ?? '')} (allowed: namespaces="...", valid-after="...", valid-before="...")` };
      const d = dequote(text, at + key.length + 1);
      if ('error' in d) return { error: `${key}: ${d.error}` };
      at = d.next;
      if (key === 'namespaces') {
        if (o.namespaces !== null) return { error: 'more than one namespaces= option' };
        o.namespaces = d.value;
      } else {
        const field = key === 'valid-after' ? 'validAfter' : 'validBefore';
        if (o[field] !== null) return { error: `more than one ${key}= option` };
        const t = parseSshTime(d.value);
        if ('error' in t) return { error: `${key}: ${t.error}` };
        o[field] = t;
      }
    }
    if (at >= text.length) break;
    if (text[at] !== ',') return { error: `unexpected ${JSON.stringify(text.slice(at, at + 20))} after an option (separate options with commas, no spaces)` };
    at++;
    if (at >= text.length) return { error: 'the options end with a comma' };
  }
  return o;
}

/** Parses allowed_signers text. Never throws: a line that cannot be used is a problem and is skipped. */
export function parseAllowedSigners(text: string, path = 'trust/allowed_signers'): AllowedSigners {
  const entries: AllowedSigner[] = [];
  const problems: FileProblem[] = [];
  const report = (line: number, reason: string, fix: string, severity: 'error' | 'warning' = 'error'): void => {
    problems.push({ path, field: `line ${line}`, reason, fix, severity });
  };
  const lines = text.split('\n');
  for (const [i, raw] of lines.entries()) {
    const n = i + 1;
    const trimmed = raw.replace(/^[ \t\r]+/, '');
    if (trimmed === '' || trimmed.startsWith('#') || trimmed === '\r') continue;
    const parts = splitLine(raw);
    if ('error' in parts) {
      report(n, `${parts.error}; the line is ignored`, 'write it as: principals [options] keytype base64 [comment]');
      continue;
    }
    let options: Options = { certAuthority: false, namespaces: null, validAfter: null, validBefore: null };
    if (parts.options !== null) {
      const o = parseOptions(parts.options);
      if ('error' in o) {
        report(n, `bad options: ${o.error}; the line is ignored`, 'fix the options; ssh-keygen skips this line too');
        continue;
      }
      options = o;
    }
    if (options.certAuthority) {
      report(n, 'cert-authority lines are not supported: gitbus trusts keys, not certificate authorities; the line is ignored', 'list each signer\'s own key instead of the CA');
      continue;
    }
    let key: SshPublicKey;
    try {
      key = parsePublicKeyLine(parts.keyText, `the key on line ${n}`).key;
    } catch (err) {
      if (!isSignatureError(err)) throw err;
      const unsupported = err.reason === 'unsupported';
      report(n, `${err.message.split('\n')[0] ?? ''}; the line is ignored`, err.fix, unsupported ? 'warning' : 'error');
      continue;
    }
    for (const [name, t] of [['valid-after', options.validAfter], ['valid-before', options.validBefore]] as const) {
      if (t && !t.utc) report(n, `${name} has no time zone: it is read in each verifying machine's own time zone, as ssh-keygen does, so nodes in other zones read another instant`, `add Z for UTC (for example ${name}="20270101Z")`, 'warning');
    }
    entries.push({
      line: n,
      principals: parts.principals.split(','),
      key,
      namespaces: options.namespaces,
      validAfter: options.validAfter?.ms ?? null,
      validBefore: options.validBefore?.ms ?? null,
    });
  }
  return { entries, problems };
}

/** Why a line does not let its key sign `namespace` at `now`; undefined when it does. */
function whyNot(e: AllowedSigner, namespace: string, now: number): string | undefined {
  if (e.namespaces !== null && !matchPatternList(namespace, e.namespaces)) return `line ${e.line} allows only the namespaces ${e.namespaces}, not ${namespace}`;
  if (e.validAfter !== null && now < e.validAfter) return `line ${e.line}: the key is not valid before ${new Date(e.validAfter).toISOString()}`;
  if (e.validBefore !== null && now > e.validBefore) return `line ${e.line}: the key expired at ${new Date(e.validBefore).toISOString()}`;
  return undefined;
}

/**
 * Which principals may sign `namespace` with `key` now (the verifier's clock, never a signature's): the
 * principals fields of every line listing that key whose options allow it. `ssh-keygen -Y find-principals` with a
 * namespace check.
 */
export function principalsFor(list: AllowedSigners, key: SshPublicKey, namespace: string, now: Date = new Date()): SignerLookup {
  const out: SignerLookup = { principals: [], refused: [] };
  for (const e of list.entries) {
    if (!sameKey(e.key, key)) continue;
    const why = whyNot(e, namespace, now.getTime());
    if (why === undefined) out.principals.push(...e.principals.filter((p) => !out.principals.includes(p)));
    else out.refused.push({ line: e.line, principals: e.principals, reason: why });
  }
  return out;
}

/** `ssh-keygen -Y verify -I principal` semantics: some line matches the principal, lists the key and allows it now. */
export function allows(list: AllowedSigners, principal: string, key: SshPublicKey, namespace: string, now: Date = new Date()): boolean {
  return list.entries.some((e) => matchPatternList(principal, e.principals.join(',')) && sameKey(e.key, key) && whyNot(e, namespace, now.getTime()) === undefined);
}
