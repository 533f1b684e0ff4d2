import { describe, it, expect } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { applyEdit, firstVersion, renderVersion, type VersionContent } from '../../bus/trust/change.js';
import { classifyChainName, contentDigest } from '../../bus/trust/chain-files.js';
import { effectiveSigners, ruleAllows, type DispatchRequest } from '../../bus/trust/policy-rules.js';
import { parseKeyBlob, type SshPublicKey } from '../../bus/trust/ssh-key.js';
import { wireString } from '../../bus/trust/ssh-wire.js';
import { parseVersion, type TrustVersion } from '../../bus/trust/version-content.js';
import { TrustChangeInvalidError } from '../../bus/trust/root-errors.js';

/** The trust root's pure parts: version content, edits, digests, names and rules (no signatures here). */

function newKey(): SshPublicKey {
  const x = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x ?? '';
  return parseKeyBlob(Buffer.concat([wireString('ssh-ed25519'), wireString(Buffer.from(x, 'base64url'))]));
}

const alice = newKey();
const bob = newKey();

function version(content: VersionContent, previous?: string): TrustVersion {
  return renderVersion(content, previous).version;
}

const v1 = version(firstVersion([{ principal: 'alice', key: alice }]));

describe('trust versions', () => {
  it('version 1 has the admins, threshold 1 unless given, a rule letting the admins run anything anywhere, and a maxHandoffAge of 30d', () => {
    expect(v1.policy).toEqual({ version: 1, admins: ['alice'], rules: [{ signers: ['alice'], runners: ['*'], nodes: ['*'] }], maxHandoffAge: '30d' });
    expect(v1.allowedSigners).toBe(`alice ${alice.line}\n`);
    expect(v1.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('the digest frames each file: moving bytes from one file to the other changes it', () => {
    expect(contentDigest(Buffer.from('ab'), Buffer.from('c'))).not.toBe(contentDigest(Buffer.from('a'), Buffer.from('bc')));
  });

  it('refuses versions no node could use: an admin without a key, a threshold above the admins, a rule for no node, a wrong version', () => {
    const problems = (signers: string, policy: string, n = 1) => {
      const r = parseVersion(n, Buffer.from(signers), Buffer.from(policy));
      return r.ok ? [] : r.problems.map((p) => `${p.field}: ${p.reason}`);
    };
    const line = `alice ${alice.line}\n`;
    expect(problems(line, 'version: 1\nadmins: [alice]\n')).toEqual([]);
    expect(problems(line, 'version: 1\nadmins: [alice, carol]\n').join()).toContain('the admin carol has no key in allowed_signers');
    expect(problems(line, 'version: 1\nadmins: [alice]\nthreshold: 2\n').join()).toContain('more than the number of admins');
    expect(problems(line, 'version: 1\nadmins: [alice]\nrules: [{signers: ["*"], runners: [shell]}]\n').join()).toContain('names neither nodes nor labels');
    expect(problems(line, 'version: 1\nadmins: [alice]\n', 2).join()).toContain('says version 1 in the file of version 2');
    expect(problems(line, 'version: 1\nadmins: [alice]\nadmin: [bob]\n').join()).toContain('unknown field "admin"');
    expect(problems(`"ali*" ${alice.line}\n`, 'version: 1\nadmins: [alice]\n').join()).toContain('is not a principal gitbus accepts');
  });

  it('chain file names', () => {
    expect(classifyChainName('12.yaml')).toEqual({ version: 12, kind: 'link' });
    expect(classifyChainName('3.allowed_signers')).toEqual({ version: 3, kind: 'allowedSigners' });
    expect(classifyChainName('3.policy.yaml')).toEqual({ version: 3, kind: 'policy' });
    for (const bad of ['0.yaml', '01.yaml', 'x.yaml', '3.yml', '3.policy.yml']) expect(classifyChainName(bad), bad).toBeUndefined();
  });
});

describe('trust edits', () => {
  it('add and remove a signer (by principal or by key), keeping other lines byte for byte', () => {
    const withBob = applyEdit(v1, { kind: 'add-signer', principal: 'bob', key: bob, namespaces: ['handoff', 'cancel'] });
    expect(withBob.version).toBe(2);
    expect(withBob.allowedSigners).toBe(`alice ${alice.line}\nbob namespaces="gitbus-handoff@v1,gitbus-cancel@v1" ${bob.line}\n`);
    const v2 = version(withBob, v1.digest);
    expect(applyEdit(v2, { kind: 'remove-signer', match: 'bob' }).allowedSigners).toBe(`alice ${alice.line}\n`);
    expect(applyEdit(v2, { kind: 'remove-signer', match: bob.fingerprint }).allowedSigners).toBe(`alice ${alice.line}\n`);
    expect(() => applyEdit(v2, { kind: 'remove-signer', match: 'carol' })).toThrow(TrustChangeInvalidError);
    expect(() => applyEdit(v2, { kind: 'add-signer', principal: 'bob', key: bob })).toThrow(/already has the key/);
  });

  it('removing the only key of an admin, the last admin, or raising the threshold past the admins is refused', () => {
    expect(() => renderVersion(applyEdit(v1, { kind: 'remove-signer', match: 'alice' }), v1.digest)).toThrow(/the admin alice has no key/);
    expect(() => applyEdit(v1, { kind: 'remove-admin', principal: 'alice' })).toThrow(/last admin/);
    expect(() => renderVersion(applyEdit(v1, { kind: 'threshold', threshold: 2 }), v1.digest)).toThrow(/more than the number of admins/);
  });

  it('admins, rules and threshold', () => {
    const v2 = version(applyEdit(v1, { kind: 'add-admin', principal: 'bob', key: bob }), v1.digest);
    expect(v2.policy.admins).toEqual(['alice', 'bob']);
    const v3 = version(applyEdit(v2, { kind: 'threshold', threshold: 2 }), v2.digest);
    expect(v3.policy.threshold).toBe(2);
    const v4 = version(applyEdit(v3, { kind: 'add-rule', rule: { signers: ['bob'], runners: ['shell'], labels: ['gpu'] } }), v3.digest);
    expect(v4.policy.rules).toHaveLength(2);
    expect(applyEdit(v4, { kind: 'remove-rule', index: 1 }).policy.rules).toEqual([{ signers: ['bob'], runners: ['shell'], labels: ['gpu'] }]);
    expect(() => applyEdit(v4, { kind: 'remove-rule', index: 3 })).toThrow(/there is no rule 3/);
  });
});

describe('trust rules', () => {
  const content = firstVersion([{ principal: 'alice', key: alice }]);
  content.allowedSigners += `bob ${bob.line}\n`;
  content.policy.rules = [
    { signers: ['alice'], runners: ['*'], nodes: ['*'] },
    { signers: ['bob'], runners: ['shell'], labels: ['gpu'], maxTimeout: '1h' },
    { signers: ['*'], runners: ['claude'], nodes: ['box'], maxBudgetUsd: 2 },
  ];
  const v = version(content);
  const req = (over: Partial<DispatchRequest>): DispatchRequest => ({ principals: ['bob'], runner: 'shell', node: { name: 'n1', labels: ['gpu'] }, timeoutMs: 60_000, ...over });

  it('a rule covers its signers, runners and nodes (by name or label) within its limits; the reason names each rule', () => {
    expect(ruleAllows(v, req({ principals: ['alice'], runner: 'tmux', node: { name: 'any', labels: [] } }))).toEqual({ allowed: true, rule: 1 });
    expect(ruleAllows(v, req({}))).toEqual({ allowed: true, rule: 2 });
    const noLabel = ruleAllows(v, req({ node: { name: 'n1', labels: [] } }));
    expect(noLabel.allowed).toBe(false);
    if (!noLabel.allowed) expect(noLabel.reason).toContain('rule 2: not for node n1');
    const tooLong = ruleAllows(v, req({ timeoutMs: 2 * 3_600_000 }));
    if (!tooLong.allowed) expect(tooLong.reason).toContain('only with a timeout of at most 1h');
    else expect.fail('allowed a timeout above the rule');
    expect(ruleAllows(v, req({ timeoutMs: undefined })).allowed).toBe(false);
    expect(ruleAllows(v, req({ runner: 'claude', node: { name: 'box', labels: [] }, budgetUsd: 1 }))).toEqual({ allowed: true, rule: 3 });
    expect(ruleAllows(v, req({ runner: 'claude', node: { name: 'box', labels: [] }, budgetUsd: 5 })).allowed).toBe(false);
  });

  it('revocations take keys and principals out of the effective signers', () => {
    expect(effectiveSigners(v, { revoke: [bob.fingerprint] }).map((e) => e.principals)).toEqual([['alice']]);
    expect(effectiveSigners(v, { revoke: ['alice'] }).map((e) => e.principals)).toEqual([['bob']]);
  });
});
