/**
 * known_hosts files as OpenSSH reads and writes them (sshd(8) SSH_KNOWN_HOSTS FILE FORMAT, hostfile.c), because
 * ssh2 leaves host key checking to its caller. Host certificates are not supported: `@cert-authority` lines are
 * parsed but never match, so a host that only has a CA line is "unknown", never silently trusted.
 */
import { appendFileSync, closeSync, mkdirSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { nodeCrypto } from '../../schemas/node-crypto.js';
import { dirname } from 'node:path';
import { matchPatternList } from './ssh-config.js';
import { KnownHostsLineError, KnownHostsWriteError } from './ssh-errors.js';

export interface KnownHostsEntry {
  file: string;
  line: number;
  marker: 'cert-authority' | 'revoked' | undefined;
  /** The host field as written: patterns, or one hashed `|1|salt|hmac` name. */
  hosts: string;
  keyType: string;
  /** Decoded key blob (the wire format ssh2 hands to hostVerifier). */
  key: Buffer;
}

export type HostKeyVerdict =
  | { kind: 'known'; entry: KnownHostsEntry }
  /** A key is known for this name but not this one. `entry` is a known key of the offered type if there is one,
   * else of another type: like OpenSSH, a key of a new type is a change, or an attacker could pick any type we
   * have no key for and be treated as a new host. */
  | { kind: 'changed'; entry: KnownHostsEntry }
  | { kind: 'revoked'; entry: KnownHostsEntry }
  /** Nothing known for this name. otherTypes is always [] (a key of another type gives 'changed'); kept for callers. */
  | { kind: 'unknown'; otherTypes: string[] };

const HASH_MAGIC = '|1|';
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Skips blank, comment and malformed lines, as OpenSSH does (it never fails on a bad known_hosts line). */
export function parseKnownHosts(text: string, file: string): KnownHostsEntry[] {
  const entries: KnownHostsEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const entry = parseLine(raw.replace(/\r$/, ''), file, i + 1);
    if (entry) entries.push(entry);
  });
  return entries;
}

function parseLine(raw: string, file: string, line: number): KnownHostsEntry | undefined {
  const fields = raw.split(/[ \t]+/).filter((f) => f !== '');
  if (fields.length === 0 || fields[0]?.startsWith('#')) return undefined;
  let marker: KnownHostsEntry['marker'];
  if (fields[0]?.startsWith('@')) {
    if (fields[0] === '@cert-authority') marker = 'cert-authority';
    else if (fields[0] === '@revoked') marker = 'revoked';
    else return undefined;
    fields.shift();
  }
  const [hosts, keyType, base64] = fields;
  if (!hosts || !keyType || !base64 || !BASE64.test(base64)) return undefined;
  const key = Buffer.from(base64, 'base64');
  // The blob names its own type; OpenSSH rejects a line whose stated type disagrees (e.g. a truncated paste).
  if (blobKeyType(key) !== keyType) return undefined;
  return { file, line, marker, hosts, keyType, key };
}

function blobKeyType(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined;
  const len = blob.readUInt32BE(0);
  return len > 0 && 4 + len <= blob.length ? blob.toString('latin1', 4, 4 + len) : undefined;
}

/** Missing or unreadable files are skipped, as OpenSSH does. */
export function readKnownHosts(files: string[]): KnownHostsEntry[] {
  return files.flatMap((file) => {
    try {
      return parseKnownHosts(readFileSync(file, 'utf8'), file);
    } catch {
      return [];
    }
  });
}

/** The name OpenSSH looks up: `host` for port 22, `[host]:port` otherwise; lower case, as ssh writes it. */
export function knownHostsName(host: string, port: number): string {
  const lower = host.toLowerCase();
  return port === 22 || port === 0 ? lower : `[${lower}]:${port}`;
}

/** Whether an entry's host field matches the name: comma-separated patterns with * ? and !negation, or hashed `|1|salt|hmac` (HMAC-SHA1 of the name keyed with the salt, both base64). */
export function entryMatches(entry: KnownHostsEntry, name: string): boolean {
  const host = name.toLowerCase();
  if (!entry.hosts.startsWith('|')) return matchPatternList(host, entry.hosts, true) === 1;
  const salt = hashSalt(entry.hosts);
  return salt !== undefined && hashName(host, salt) === entry.hosts;
}

/** The 20-byte salt of `|1|salt|hmac`, or undefined when the field is not a well-formed hashed name. */
function hashSalt(field: string): Buffer | undefined {
  if (!field.startsWith(HASH_MAGIC)) return undefined;
  const b64 = field.slice(HASH_MAGIC.length).split('|')[0] ?? '';
  const salt = BASE64.test(b64) ? Buffer.from(b64, 'base64') : undefined;
  return salt?.length === 20 ? salt : undefined;
}

function hashName(host: string, salt: Buffer): string {
  const mac = nodeCrypto().createHmac('sha1', salt).update(host).digest('base64');
  return `${HASH_MAGIC}${salt.toString('base64')}|${mac}`;
}

/**
 * OpenSSH's check_key_in_hostkeys(): a matching @revoked line with this key wins over everything; otherwise the
 * key is known if any matching line has it, changed if matching lines have only other keys, else unknown.
 * ssh2 reports an RSA host key as 'ssh-rsa' (parseKey(buf).type) even when it signs with rsa-sha2-256/512, which
 * is also the type known_hosts records, so comparing types and blobs directly is right.
 */
export function checkHostKey(entries: KnownHostsEntry[], name: string, keyType: string, key: Buffer): HostKeyVerdict {
  const matching = entries.filter((e) => e.marker !== 'cert-authority' && entryMatches(e, name));
  const revoked = matching.find((e) => e.marker === 'revoked' && e.key.equals(key));
  if (revoked) return { kind: 'revoked', entry: revoked };
  const plain = matching.filter((e) => e.marker === undefined);
  const known = plain.find((e) => e.key.equals(key));
  if (known) return { kind: 'known', entry: known };
  const other = plain.find((e) => e.keyType === keyType) ?? plain[0];
  if (other) return { kind: 'changed', entry: other };
  return { kind: 'unknown', otherTypes: [] };
}

/**
 * Key types known for the name, in file order, for ordering ssh2's `algorithms.serverHostKey` like OpenSSH does
 * (so a host with several keys shows the one we know). 'ssh-rsa' stands for rsa-sha2-512/256 too.
 */
export function knownKeyTypes(entries: KnownHostsEntry[], name: string): string[] {
  const types = entries.filter((e) => e.marker === undefined && entryMatches(e, name)).map((e) => e.keyType);
  return [...new Set(types)];
}

/** `SHA256:<base64 without padding>` as `ssh-keygen -lf` prints it. */
export function fingerprintSha256(key: Buffer): string {
  return `SHA256:${nodeCrypto().createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/** One known_hosts line for the key (hashed like HashKnownHosts yes when `hashed`), without a newline. */
export function formatKnownHostsLine(name: string, keyType: string, key: Buffer, hashed: boolean): string {
  const host = name.toLowerCase();
  // Like OpenSSH, never record a name that would read back as a pattern, a list or another field.
  if (!/^([^\s,!*?@#|'"\\[\]]+|\[[^\s,!*?@#|'"\\[\]]+\]:\d{1,5})$/.test(host)) {
    throw new KnownHostsLineError('host name', name, 'it contains a space, comma, wildcard or quote');
  }
  if (!/^[A-Za-z0-9@._+-]+$/.test(keyType)) throw new KnownHostsLineError('key type', keyType, 'it is not a plain key type name');
  return `${hashed ? hashName(host, nodeCrypto().randomBytes(20)) : host} ${keyType} ${key.toString('base64')}`;
}

/** Appends the line to the file (creating ~/.ssh with mode 0700 and the file with 0600 if missing). For StrictHostKeyChecking accept-new. */
export function appendKnownHost(file: string, line: string): void {
  if (/[\r\n]/.test(line)) throw new KnownHostsLineError('line', line, 'it spans several lines');
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    // A file whose last line lacks its newline would otherwise swallow our line into it.
    const separator = endsWithoutNewline(file) ? '\n' : '';
    appendFileSync(file, `${separator}${line}\n`, { mode: 0o600 });
  } catch (err) {
    throw new KnownHostsWriteError(file, err);
  }
}

function endsWithoutNewline(file: string): boolean {
  const size = statSync(file, { throwIfNoEntry: false })?.size ?? 0;
  if (size === 0) return false;
  const fd = openSync(file, 'r');
  try {
    const last = Buffer.alloc(1);
    readSync(fd, last, 0, 1, size - 1);
    return last[0] !== 0x0a;
  } finally {
    closeSync(fd);
  }
}
