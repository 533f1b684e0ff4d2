import { describe, it, expect } from 'vitest';
import { allows, matchPattern, matchPatternList, parseAllowedSigners, parseSshTime, principalsFor } from '../../bus/trust/allowed-signers.js';
import { parseKeyBlob } from '../../bus/trust/ssh-key.js';
import { makeKey } from '../helpers/sshsig-forge.js';

const alice = makeKey('ed25519');
const bob = makeKey('p256');
const carol = makeKey('ed25519');
const A = parseKeyBlob(alice.blob);
const B = parseKeyBlob(bob.blob);
const C = parseKeyBlob(carol.blob);
const NOW = new Date('2026-06-01T12:00:00Z');

describe('OpenSSH patterns', () => {
  it('matches * and ? and nothing else specially', () => {
    expect(matchPattern('alice@example.com', '*@example.com')).toBe(true);
    expect(matchPattern('alice@example.org', '*@example.com')).toBe(false);
    expect(matchPattern('node-1', 'node-?')).toBe(true);
    expect(matchPattern('node-12', 'node-?')).toBe(false);
    expect(matchPattern('a.b', 'a?b')).toBe(true);
    expect(matchPattern('Alice', 'alice')).toBe(false);
    expect(matchPattern('', '*')).toBe(true);
    expect(matchPattern('abcabd', '*abd')).toBe(true);
  });

  it('lets a negated pattern veto a list', () => {
    expect(matchPatternList('bob@example.com', '*@example.com,!bob@example.com')).toBe(false);
    expect(matchPatternList('alice@example.com', '*@example.com,!bob@example.com')).toBe(true);
    expect(matchPatternList('x', '!y')).toBe(false);
  });
});

describe('times', () => {
  it('reads the formats of ssh-keygen, Z and UTC meaning UTC', () => {
    expect(parseSshTime('20260102Z')).toEqual({ ms: Date.UTC(2026, 0, 2), utc: true });
    expect(parseSshTime('202601021304UTC')).toEqual({ ms: Date.UTC(2026, 0, 2, 13, 4), utc: true });
    expect(parseSshTime('20260102130405Z')).toEqual({ ms: Date.UTC(2026, 0, 2, 13, 4, 5), utc: true });
    expect(parseSshTime('20260102')).toEqual({ ms: new Date(2026, 0, 2).getTime(), utc: false });
    expect(parseSshTime('2026-01-02')).toHaveProperty('error');
    expect(parseSshTime('20260230Z')).toHaveProperty('error');
    expect(parseSshTime('202601021')).toHaveProperty('error');
  });
});

describe('parseAllowedSigners', () => {
  it('reads principals, options, keys and comments as ssh-keygen does', () => {
    const text = [
      '# Comments allowed at start of line',
      '',
      `alice@example.com,admin@example.com ${alice.line} alice's laptop`,
      `   bob@example.com namespaces="gitbus-handoff@v1,gitbus-cancel@v1",valid-after="20260101Z" ${bob.line}`,
      `"carol smith@example.com" VALID-BEFORE="20270101Z" ${carol.line}`,
    ].join('\n');
    const list = parseAllowedSigners(text);
    expect(list.problems).toEqual([]);
    expect(list.entries.map((e) => [e.line, e.principals, e.namespaces])).toEqual([
      [3, ['alice@example.com', 'admin@example.com'], null],
      [4, ['bob@example.com'], 'gitbus-handoff@v1,gitbus-cancel@v1'],
      [5, ['carol smith@example.com'], null],
    ]);
    expect(list.entries[1]?.validAfter).toBe(Date.UTC(2026, 0, 1));
    expect(list.entries[2]?.validBefore).toBe(Date.UTC(2027, 0, 1));
  });

  it('skips the lines ssh-keygen skips, each with its reason', () => {
    const text = [
      `*@example.com cert-authority ${alice.line}`,
      `x@y namespaces=git ${alice.line}`,
      `x@y frobnicate ${alice.line}`,
      `x@y namespaces="a",namespaces="b" ${alice.line}`,
      `x@y valid-after="yesterday" ${alice.line}`,
      'x@y',
      `x@y ssh-ed25519 AAAAnotakey`,
      `x@y sk-ssh-ed25519@openssh.com ${Buffer.concat([Buffer.from([0, 0, 0, 26]), Buffer.from('sk-ssh-ed25519@openssh.com')]).toString('base64')}`,
      `"x@y ${alice.line}`,
    ].join('\n');
    const list = parseAllowedSigners(text);
    expect(list.entries).toEqual([]);
    const reasons = list.problems.map((p) => `${p.field}: ${p.reason}`);
    expect(reasons[0]).toMatch(/line 1: cert-authority lines are not supported/);
    expect(reasons[1]).toMatch(/line 2: .*missing start quote/);
    expect(reasons[2]).toMatch(/line 3: .*unknown option/);
    expect(reasons[3]).toMatch(/line 4: .*more than one namespaces/);
    expect(reasons[4]).toMatch(/line 5: .*valid-after/);
    expect(reasons[5]).toMatch(/line 6: .*needs principals and a key/);
    expect(reasons[6]).toMatch(/line 7: /);
    expect(reasons[7]).toMatch(/line 8: .*security-key/);
    expect(list.problems[7]?.severity).toBe('warning');
    expect(reasons[8]).toMatch(/line 9: .*closing quote/);
  });

  it('warns that a time without a zone is read in each machine\'s own zone', () => {
    const list = parseAllowedSigners(`a@b valid-before="20270101" ${alice.line}`);
    expect(list.entries).toHaveLength(1);
    expect(list.problems[0]?.severity).toBe('warning');
    expect(list.problems[0]?.fix).toMatch(/Z/);
  });
});

describe('who may sign what, now', () => {
  const list = parseAllowedSigners(
    [
      `alice@example.com ${alice.line}`,
      `ops@example.com namespaces="gitbus-handoff@v1" ${alice.line}`,
      `bob@example.com namespaces="gitbus-*@v1,!gitbus-trust@v1" ${bob.line}`,
      `carol@example.com valid-after="20260101Z",valid-before="20260301Z" ${carol.line}`,
    ].join('\n'),
  );

  it('gives every principal of every line that lists the key and allows the namespace', () => {
    expect(principalsFor(list, A, 'gitbus-handoff@v1', NOW).principals).toEqual(['alice@example.com', 'ops@example.com']);
    const claim = principalsFor(list, A, 'gitbus-claim@v1', NOW);
    expect(claim.principals).toEqual(['alice@example.com']);
    expect(claim.refused[0]?.reason).toMatch(/only the namespaces gitbus-handoff@v1/);
    expect(principalsFor(list, B, 'gitbus-claim@v1', NOW).principals).toEqual(['bob@example.com']);
    expect(principalsFor(list, B, 'gitbus-trust@v1', NOW).principals).toEqual([]);
  });

  it('judges valid-after and valid-before by the verifier\'s clock, never by a time the signature claims', () => {
    const expired = principalsFor(list, C, 'gitbus-handoff@v1', NOW);
    expect(expired.principals).toEqual([]);
    expect(expired.refused[0]?.reason).toMatch(/expired at 2026-03-01/);
    expect(principalsFor(list, C, 'gitbus-handoff@v1', new Date('2026-02-01T00:00:00Z')).principals).toEqual(['carol@example.com']);
    expect(principalsFor(list, C, 'gitbus-handoff@v1', new Date('2025-12-01T00:00:00Z')).refused[0]?.reason).toMatch(/not valid before/);
  });

  it('answers ssh-keygen -Y verify -I: principal, key, namespace and time all must fit', () => {
    expect(allows(list, 'alice@example.com', A, 'gitbus-claim@v1', NOW)).toBe(true);
    expect(allows(list, 'ops@example.com', A, 'gitbus-claim@v1', NOW)).toBe(false);
    expect(allows(list, 'alice@example.com', B, 'gitbus-claim@v1', NOW)).toBe(false);
    expect(allows(list, 'carol@example.com', C, 'gitbus-claim@v1', NOW)).toBe(false);
  });

  it('knows nothing of a key it does not list', () => {
    const other = parseKeyBlob(makeKey('ed25519').blob);
    expect(principalsFor(list, other, 'gitbus-handoff@v1', NOW)).toEqual({ principals: [], refused: [] });
  });
});
