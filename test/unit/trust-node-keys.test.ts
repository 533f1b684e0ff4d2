import { describe, it, expect } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { applyEdit, firstVersion, renderVersion, type VersionContent } from '../../bus/trust/change.js';
import { defaultUnlistedNodes, nodeKeysView, ownKeyStanding } from '../../bus/trust/node-key-status.js';
import { listedNodeKeys, nodeSignerLine } from '../../bus/trust/node-keys.js';
import { TrustChangeInvalidError } from '../../bus/trust/root-errors.js';
import { parseKeyBlob, type SshPublicKey } from '../../bus/trust/ssh-key.js';
import { wireString } from '../../bus/trust/ssh-wire.js';
import type { TrustVersion } from '../../bus/trust/version-content.js';
import { parseBusFile } from '../../schemas/bus-file.js';
import { sshKeyLineViolation } from '../../schemas/ssh-key-line.js';

/** Node keys in the trust root, pure: the edits (add = replace, remove, unlistedNodes), version 1, the views, the card's key field. */

function newKey(): SshPublicKey {
  const x = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x ?? '';
  return parseKeyBlob(Buffer.concat([wireString('ssh-ed25519'), wireString(Buffer.from(x, 'base64url'))]));
}

const alice = newKey();
const w1 = newKey();
const w2 = newKey();
const boss = newKey();

function version(content: VersionContent, previous?: string): TrustVersion {
  return renderVersion(content, previous).version;
}

const v1 = version(firstVersion([{ principal: 'alice', key: alice }], undefined, { nodes: [{ node: 'boss', key: boss }], unlistedNodes: 'refuse' }));

describe('version 1 with node keys', () => {
  it('lists the init node after the admins, and says unlistedNodes', () => {
    expect(v1.allowedSigners).toBe(`alice ${alice.line}\n${nodeSignerLine('boss', boss)}\n`);
    expect(v1.policy.unlistedNodes).toBe('refuse');
    expect(v1.policyText).toContain('unlistedNodes: refuse');
    expect([...listedNodeKeys(v1, {}).keys()]).toEqual(['boss']);
  });

  it('refuses a node key that is also an admin key', () => {
    expect(() => firstVersion([{ principal: 'alice', key: alice }], undefined, { nodes: [{ node: 'boss', key: alice }] })).toThrow(/also alice's admin key/);
  });

  it('without nodes it is as before (no unlistedNodes field)', () => {
    expect(version(firstVersion([{ principal: 'alice', key: alice }])).policy.unlistedNodes).toBeUndefined();
  });
});

describe('node key edits', () => {
  const v2 = version(applyEdit(v1, { kind: 'add-node', node: 'w', key: w1 }), v1.digest);

  it('add node appends its line, limited to the node namespaces', () => {
    expect(v2.allowedSigners).toBe(`${v1.allowedSigners}node:w namespaces="gitbus-claim@v1,gitbus-release@v1,gitbus-response@v1,gitbus-node@v1" ${w1.line} gitbus node w\n`);
    expect(listedNodeKeys(v2, {}).get('w')?.map((k) => k.fingerprint)).toEqual([w1.fingerprint]);
  });

  it('adding a node already listed replaces its line in place (rotation): one key per node, other lines byte for byte', () => {
    const v3 = version(applyEdit(v2, { kind: 'add-node', node: 'boss', key: w2 }), v2.digest);
    const lines = v3.allowedSigners.split('\n');
    expect(lines[0]).toBe(`alice ${alice.line}`);
    expect(lines[1]).toBe(nodeSignerLine('boss', w2));
    expect(lines[2]).toBe(nodeSignerLine('w', w1));
    expect(v3.allowedSigners).not.toContain(boss.line);
    expect(listedNodeKeys(v3, {}).get('boss')?.map((k) => k.fingerprint)).toEqual([w2.fingerprint]);
  });

  it('the same key again is nothing to do; a key listed for someone else is refused', () => {
    expect(() => applyEdit(v2, { kind: 'add-node', node: 'w', key: w1 })).toThrow(/already has the key/);
    expect(() => applyEdit(v2, { kind: 'add-node', node: 'x', key: w1 })).toThrow(/already listed for node:w/);
    expect(() => applyEdit(v2, { kind: 'add-node', node: 'x', key: alice })).toThrow(/already listed for alice/);
    expect(() => applyEdit(v2, { kind: 'add-signer', principal: 'bob', key: w1 })).toThrow(/node w's key/);
    expect(() => applyEdit(v2, { kind: 'add-admin', principal: 'bob', key: w1 })).toThrow(/node w's key/);
  });

  it('remove node takes its line out; a node without a key is refused', () => {
    const v3 = applyEdit(v2, { kind: 'remove-node', node: 'w' });
    expect(v3.allowedSigners).toBe(v1.allowedSigners);
    expect(() => applyEdit(v1, { kind: 'remove-node', node: 'w' })).toThrow(TrustChangeInvalidError);
    expect(() => applyEdit(v1, { kind: 'remove-node', node: 'w' })).toThrow(/node w has no key in version 1/);
  });

  it('unlisted-nodes sets the policy field; the same value again is refused (absent means accept)', () => {
    const accept = version(applyEdit(v2, { kind: 'unlisted-nodes', value: 'accept' }), v2.digest);
    expect(accept.policy.unlistedNodes).toBe('accept');
    expect(accept.allowedSigners).toBe(v2.allowedSigners);
    expect(() => applyEdit(accept, { kind: 'unlisted-nodes', value: 'accept' })).toThrow(/already accept/);
    const plain = version(firstVersion([{ principal: 'alice', key: alice }]));
    expect(() => applyEdit(plain, { kind: 'unlisted-nodes', value: 'accept' })).toThrow(/already accept/);
    expect(applyEdit(plain, { kind: 'unlisted-nodes', value: 'refuse' }).policy.unlistedNodes).toBe('refuse');
  });
});

describe('node key views', () => {
  const v2 = version(applyEdit(v1, { kind: 'add-node', node: 'w', key: w1 }), v1.digest);

  it('this node\'s key: listed, unlisted, differs, or none', () => {
    expect(ownKeyStanding(v2, 'w', w1)).toEqual({ state: 'listed', fingerprint: w1.fingerprint });
    expect(ownKeyStanding(v2, 'x', w2)).toEqual({ state: 'unlisted', fingerprint: w2.fingerprint, unlistedNodes: 'refuse' });
    expect(ownKeyStanding(v2, 'w', w2)).toEqual({ state: 'differs', fingerprint: w2.fingerprint, listed: [w1.fingerprint] });
    expect(ownKeyStanding(v2, 'w', null)).toEqual({ state: 'no-key', listed: [w1.fingerprint], unlistedNodes: 'refuse' });
  });

  it('trust list: listed keys, cards offering keys not listed (or another key) with the command, nodes without a key', () => {
    const view = nodeKeysView(v2, [
      { node: 'boss', key: boss.line },
      { node: 'w', key: w2.line },
      { node: 'x', key: w1.line },
      { node: 'y' },
      { node: 'z', key: 'ssh-ed25519 garbage' },
    ]);
    expect(view.unlistedNodes).toBe('refuse');
    expect(view.listed).toEqual([
      { node: 'boss', fingerprint: boss.fingerprint, keyType: 'ssh-ed25519' },
      { node: 'w', fingerprint: w1.fingerprint, keyType: 'ssh-ed25519' },
    ]);
    expect(view.awaiting).toEqual([
      { node: 'w', fingerprint: w2.fingerprint, listed: [w1.fingerprint], command: `gitbus trust add node w --fingerprint ${w2.fingerprint}` },
      { node: 'x', fingerprint: w1.fingerprint, listed: [], command: `gitbus trust add node x --fingerprint ${w1.fingerprint}` },
    ]);
    expect(view.unkeyed).toEqual(['y', 'z']);
  });

  it('trust init refuses unlisted nodes when it is the only node, else accepts them', () => {
    expect(defaultUnlistedNodes('boss', ['boss']).value).toBe('refuse');
    expect(defaultUnlistedNodes('boss', []).value).toBe('refuse');
    const other = defaultUnlistedNodes('boss', ['boss', 'w']);
    expect(other.value).toBe('accept');
    expect(other.why).toContain('(w)');
  });
});

describe('the node card\'s key field', () => {
  const card = (key: string) => parseBusFile('nodes/w.md', `---\nnode: w\nkey: ${JSON.stringify(key)}\n---\n`);

  it('accepts a supported key line and refuses anything else, with the reason', () => {
    expect(sshKeyLineViolation(w1.line)).toBeUndefined();
    expect(card(w1.line).ok).toBe(true);
    const reasons: Record<string, RegExp> = {
      [`${w1.line} gitbus node w`]: /not one line "TYPE BASE64"/,
      [`${w1.line}\nssh-ed25519 AAAA`]: /not one line/,
      [w1.line.replace('ssh-ed25519', 'ssh-dss')]: /not a key type gitbus verifies/,
      [w1.line.replace('ssh-ed25519 ', 'ssh-rsa ')]: /does not hold a ssh-rsa key/,
      [`ssh-ed25519 ${w1.line.split(' ')[1]?.slice(0, -1)}`]: /not canonical|does not hold/,
      [`ssh-rsa ${'A'.repeat(17_000)}`]: /more than 16384/,
    };
    for (const [line, reason] of Object.entries(reasons)) {
      expect(sshKeyLineViolation(line)?.reason, line.slice(0, 80)).toMatch(reason);
      expect(card(line).ok, line.slice(0, 80)).toBe(false);
    }
  });
});
