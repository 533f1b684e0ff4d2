import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import {
  appendKnownHost,
  checkHostKey,
  entryMatches,
  fingerprintSha256,
  formatKnownHostsLine,
  knownHostsName,
  knownKeyTypes,
  parseKnownHosts,
  readKnownHosts,
  type KnownHostsEntry,
} from '../../bus/transport/known-hosts.js';
import { KnownHostsLineError, KnownHostsWriteError } from '../../bus/transport/ssh-errors.js';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(os.tmpdir(), 'gitbus-known-hosts-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A well-formed key blob (type string, then bytes) so the pure tests need no ssh-keygen. */
function fakeKey(type: string, fill: number): Buffer {
  const t = Buffer.from(type);
  const head = Buffer.alloc(4);
  head.writeUInt32BE(t.length);
  return Buffer.concat([head, t, Buffer.alloc(36, fill)]);
}
const ED_A = fakeKey('ssh-ed25519', 1);
const ED_B = fakeKey('ssh-ed25519', 2);
const RSA_A = fakeKey('ssh-rsa', 3);
const b64 = (k: Buffer) => k.toString('base64');

function entry(hosts: string, marker?: KnownHostsEntry['marker']): KnownHostsEntry {
  return { file: 'kh', line: 1, marker, hosts, keyType: 'ssh-ed25519', key: ED_A };
}

describe('parseKnownHosts', () => {
  it('reads markers, host fields, types and keys, and skips comments, blanks and malformed lines', () => {
    const text = [
      '# comment',
      '',
      `host1,192.0.2.1 ssh-ed25519 ${b64(ED_A)} user@box`,
      `@revoked * ssh-ed25519 ${b64(ED_B)}`,
      `@cert-authority *.example.com ssh-rsa ${b64(RSA_A)}`,
      `@bogus host ssh-ed25519 ${b64(ED_A)}`,
      `host2 ssh-rsa ${b64(ED_A)}`,
      'host3 ssh-ed25519 !!!notbase64',
      'host4 ssh-ed25519',
      `  [127.0.0.1]:2222\tssh-ed25519   ${b64(ED_B)}\r`,
      '1024 35 12345',
    ].join('\n');
    const entries = parseKnownHosts(text, '/kh');
    expect(entries.map((e) => [e.line, e.marker, e.hosts, e.keyType])).toEqual([
      [3, undefined, 'host1,192.0.2.1', 'ssh-ed25519'],
      [4, 'revoked', '*', 'ssh-ed25519'],
      [5, 'cert-authority', '*.example.com', 'ssh-rsa'],
      [10, undefined, '[127.0.0.1]:2222', 'ssh-ed25519'],
    ]);
    expect(entries[0]?.key.equals(ED_A)).toBe(true);
    expect(entries[0]?.file).toBe('/kh');
  });

  it('reads several files and skips missing ones', () => {
    const a = join(tmp, 'kh-a');
    writeFileSync(a, `a ssh-ed25519 ${b64(ED_A)}\n`);
    expect(readKnownHosts([join(tmp, 'missing'), a]).map((e) => [e.file, e.hosts])).toEqual([[a, 'a']]);
  });
});

describe('knownHostsName and entryMatches', () => {
  it('uses [host]:port for ports other than 22, in lower case', () => {
    expect(knownHostsName('Git.Example.com', 22)).toBe('git.example.com');
    expect(knownHostsName('127.0.0.1', 2222)).toBe('[127.0.0.1]:2222');
  });

  it('matches comma lists, wildcards and negation like OpenSSH', () => {
    expect(entryMatches(entry('a.example,b.example'), 'b.example')).toBe(true);
    expect(entryMatches(entry('a.example'), 'A.Example')).toBe(true);
    expect(entryMatches(entry('*.example.com'), 'x.y.example.com')).toBe(true);
    expect(entryMatches(entry('web?'), 'web1')).toBe(true);
    expect(entryMatches(entry('web?'), 'web10')).toBe(false);
    expect(entryMatches(entry('!bad.example.com,*.example.com'), 'bad.example.com')).toBe(false);
    expect(entryMatches(entry('*.example.com,!bad.example.com'), 'ok.example.com')).toBe(true);
    expect(entryMatches(entry('!a,!b'), 'c')).toBe(false);
    expect(entryMatches(entry('[127.0.0.1]:2222'), knownHostsName('127.0.0.1', 2222))).toBe(true);
    expect(entryMatches(entry('127.0.0.1'), knownHostsName('127.0.0.1', 2222))).toBe(false);
    expect(entryMatches(entry('[*.example]:*'), '[a.example]:2200')).toBe(true);
    expect(entryMatches(entry('|1|bm90IGEgc2FsdA==|eA=='), 'x')).toBe(false);
  });
});

describe('checkHostKey and knownKeyTypes', () => {
  const entries = parseKnownHosts(
    [
      `host.example ssh-ed25519 ${b64(ED_A)}`,
      `host.example ssh-rsa ${b64(RSA_A)}`,
      `rsa-only.example ssh-rsa ${b64(RSA_A)}`,
      `@cert-authority ca-only.example ssh-ed25519 ${b64(ED_A)}`,
      `@revoked *.example ssh-ed25519 ${b64(ED_B)}`,
      `revoked.example ssh-ed25519 ${b64(ED_B)}`,
    ].join('\n'),
    '/kh',
  );

  it('says known when a matching line has the key', () => {
    expect(checkHostKey(entries, 'host.example', 'ssh-ed25519', ED_A)).toMatchObject({ kind: 'known', entry: { line: 1 } });
    expect(checkHostKey(entries, 'host.example', 'ssh-rsa', RSA_A)).toMatchObject({ kind: 'known', entry: { line: 2 } });
  });

  it('says changed for another key of the same type, pointing at that line', () => {
    const other = fakeKey('ssh-ed25519', 9);
    expect(checkHostKey(entries, 'host.example', 'ssh-ed25519', other)).toMatchObject({ kind: 'changed', entry: { line: 1 } });
  });

  it('says changed, as OpenSSH does, when only keys of other types are known for the name', () => {
    expect(checkHostKey(entries, 'rsa-only.example', 'ssh-ed25519', ED_A)).toMatchObject({ kind: 'changed', entry: { line: 3, keyType: 'ssh-rsa' } });
  });

  it('says revoked for a @revoked key whatever other lines say, and ignores @cert-authority', () => {
    expect(checkHostKey(entries, 'revoked.example', 'ssh-ed25519', ED_B)).toMatchObject({ kind: 'revoked', entry: { line: 5 } });
    expect(checkHostKey(entries, 'ca-only.example', 'ssh-ed25519', ED_A)).toEqual({ kind: 'unknown', otherTypes: [] });
    expect(checkHostKey(entries, 'new.example.org', 'ssh-ed25519', ED_A)).toEqual({ kind: 'unknown', otherTypes: [] });
  });

  it('lists the known key types for a name in file order, without markers', () => {
    expect(knownKeyTypes(entries, 'host.example')).toEqual(['ssh-ed25519', 'ssh-rsa']);
    expect(knownKeyTypes(entries, 'revoked.example')).toEqual(['ssh-ed25519']);
    expect(knownKeyTypes(entries, 'ca-only.example')).toEqual([]);
  });
});

describe('formatKnownHostsLine and appendKnownHost', () => {
  it('writes a plain line that reads back as known, and a hashed one that matches only its name', () => {
    const plain = formatKnownHostsLine('[Git.Example]:2222', 'ssh-ed25519', ED_A, false);
    expect(plain).toBe(`[git.example]:2222 ssh-ed25519 ${b64(ED_A)}`);
    const hashed = formatKnownHostsLine('[git.example]:2222', 'ssh-ed25519', ED_A, true);
    expect(hashed).toMatch(/^\|1\|[A-Za-z0-9+/]{27}=\|[A-Za-z0-9+/]{27}= ssh-ed25519 /);
    const [e] = parseKnownHosts(hashed, 'kh');
    expect(e && entryMatches(e, '[git.example]:2222')).toBe(true);
    expect(e && entryMatches(e, 'git.example')).toBe(false);
    expect(checkHostKey(parseKnownHosts(hashed, 'kh'), '[git.example]:2222', 'ssh-ed25519', ED_A).kind).toBe('known');
  });

  it('refuses names that would read back as patterns or extra fields', () => {
    for (const bad of ['a,b', '*.example', 'a b', '!a', 'a\nb', '[a]:x']) {
      expect(() => formatKnownHostsLine(bad, 'ssh-ed25519', ED_A, false)).toThrow(KnownHostsLineError);
    }
    expect(() => formatKnownHostsLine('a', 'ssh ed25519', ED_A, false)).toThrow(KnownHostsLineError);
  });

  it('creates the directory 0700 and the file 0600, and never glues onto an unterminated last line', () => {
    const file = join(tmp, 'fresh', '.ssh', 'known_hosts');
    appendKnownHost(file, 'a ssh-ed25519 AAAA');
    expect(statSync(join(tmp, 'fresh', '.ssh')).mode & 0o777).toBe(0o700);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    writeFileSync(file, 'a ssh-ed25519 AAAA\nb ssh-ed25519 BBBB');
    appendKnownHost(file, 'c ssh-ed25519 CCCC');
    expect(readFileSync(file, 'utf8')).toBe('a ssh-ed25519 AAAA\nb ssh-ed25519 BBBB\nc ssh-ed25519 CCCC\n');
  });

  it('wraps write failures in KnownHostsWriteError', () => {
    const blocker = join(tmp, 'not-a-dir');
    writeFileSync(blocker, '');
    const err = (() => {
      try {
        appendKnownHost(join(blocker, 'known_hosts'), 'a ssh-ed25519 AAAA');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(KnownHostsWriteError);
    expect((err as KnownHostsWriteError).code).toBe('SSH_KNOWN_HOSTS_WRITE_FAILED');
    expect((err as KnownHostsWriteError).message).toContain(join(blocker, 'known_hosts'));
  });
});

// ---- Against real OpenSSH keys and ssh-keygen -----------------------------------------------------------------------

const keygenFound = !spawnSync('ssh-keygen', ['-l', '-f', '/dev/null'], { stdio: 'ignore' }).error;
const skipKeygen = !keygenFound && process.env.CI !== 'true';
if (skipKeygen) console.warn('known-hosts.test: ssh-keygen not found on PATH; skipping the tests against real OpenSSH keys and hashing');
const note = skipKeygen ? ' (skipped: no ssh-keygen on PATH)' : '';

function keygen(args: string[]): string {
  const out = spawnSync('ssh-keygen', args, { encoding: 'utf8' });
  if (out.error) throw out.error;
  if (out.status !== 0) throw new Error(`ssh-keygen ${args.join(' ')} failed: ${out.stderr}`);
  return out.stdout;
}

interface RealKey {
  type: string;
  key: Buffer;
  pub: string;
  line: string;
}

describe.skipIf(skipKeygen)(`with real OpenSSH keys${note}`, () => {
  let dir: string;
  let ed: RealKey;
  let rsa: RealKey;
  const make = (name: string, args: string[]): RealKey => {
    keygen([...args, '-N', '', '-C', 'test', '-q', '-f', join(dir, name)]);
    const pub = `${join(dir, name)}.pub`;
    const line = readFileSync(pub, 'utf8').trim();
    const [type = '', base64 = ''] = line.split(' ');
    return { type, key: Buffer.from(base64, 'base64'), pub, line };
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmp, 'real-'));
    ed = make('ed', ['-t', 'ed25519']);
    rsa = make('rsa', ['-t', 'rsa', '-b', '2048']);
  });

  it('computes the fingerprint ssh-keygen -lf prints', () => {
    for (const k of [ed, rsa]) expect(keygen(['-lf', k.pub]).split(' ')[1]).toBe(fingerprintSha256(k.key));
  });

  it('agrees with ssh2 about key types: RSA host keys are ssh-rsa', () => {
    for (const k of [ed, rsa]) {
      const parsed = ssh2.utils.parseKey(k.key);
      if (parsed instanceof Error) throw parsed;
      expect(parsed.type).toBe(k.type);
      expect(checkHostKey(parseKnownHosts(`h ${k.line}`, 'kh'), 'h', parsed.type, parsed.getPublicSSH()).kind).toBe('known');
    }
  });

  it('matches names hashed by ssh-keygen -H, and only those', () => {
    const file = join(dir, 'known_hosts');
    const names = ['git.example.com', '[127.0.0.1]:2222', '192.0.2.7'];
    writeFileSync(file, `${names[0]},${names[2]} ${ed.line}\n${names[1]} ${rsa.line}\n`);
    keygen(['-H', '-f', file]);
    const entries = readKnownHosts([file]);
    expect(entries.length).toBe(3);
    expect(entries.every((e) => e.hosts.startsWith('|1|'))).toBe(true);
    expect(checkHostKey(entries, names[0] ?? '', ed.type, ed.key).kind).toBe('known');
    expect(checkHostKey(entries, names[2] ?? '', ed.type, ed.key).kind).toBe('known');
    expect(checkHostKey(entries, knownHostsName('127.0.0.1', 2222), rsa.type, rsa.key).kind).toBe('known');
    expect(checkHostKey(entries, '127.0.0.1', rsa.type, rsa.key).kind).toBe('unknown');
    expect(knownKeyTypes(entries, 'git.example.com')).toEqual(['ssh-ed25519']);
  });

  it('writes hashed and plain lines that ssh-keygen -F finds', () => {
    const file = join(dir, 'written', 'known_hosts');
    appendKnownHost(file, formatKnownHostsLine('[10.1.2.3]:2200', ed.type, ed.key, true));
    appendKnownHost(file, formatKnownHostsLine('plain.example', rsa.type, rsa.key, false));
    expect(keygen(['-F', '[10.1.2.3]:2200', '-f', file])).toContain(`${ed.type} ${ed.key.toString('base64')}`);
    expect(keygen(['-F', 'plain.example', '-f', file])).toContain(`plain.example ${rsa.type}`);
    expect(spawnSync('ssh-keygen', ['-F', '10.1.2.3', '-f', file]).status).not.toBe(0);
    const entries = readKnownHosts([file]);
    expect(checkHostKey(entries, '[10.1.2.3]:2200', ed.type, ed.key).kind).toBe('known');
    expect(checkHostKey(entries, 'plain.example', ed.type, ed.key)).toMatchObject({ kind: 'changed', entry: { keyType: 'ssh-rsa' } });
  });

  it('reports a @revoked real key even when a plain line also lists it', () => {
    const text = `git.example ${ed.line}\n@revoked git.example ${ed.line}\n`;
    expect(checkHostKey(parseKnownHosts(text, 'kh'), 'git.example', ed.type, ed.key)).toMatchObject({ kind: 'revoked', entry: { line: 2 } });
  });
});
