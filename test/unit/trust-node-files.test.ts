import { describe, it, expect } from 'vitest';
import { renderVersion } from '../../bus/trust/change.js';
import { signedMessage } from '../../bus/trust/messages.js';
import { nodeFileVerdict } from '../../bus/trust/node-file-trust.js';
import { listedNodeKeys, nodeSignerLine, nodesSpokenFor } from '../../bus/trust/node-keys.js';
import { principalsOf } from '../../bus/trust/policy-rules.js';
import { parseKeyBlob } from '../../bus/trust/ssh-key.js';
import { forge, makeKey, type ForgeKey } from '../helpers/sshsig-forge.js';

/**
 * Whether a claim, release, response or card counts on a node that enforces trust (bus/trust/node-file-trust.ts):
 * only when signed by the key the accepted version lists for the node it names.
 */

const ID = '20261121-042933-k3f9qx';
const OTHER = '20261121-042934-a1b2c3';
const CLAIM = `claims/${ID}.1.md`;
const claimBytes = (node: string, id = ID) => Buffer.from(`---\nid: ${id}\nattempt: 1\nnode: ${node}\nclaimed: 2026-11-21T04:29:33.000Z\n---\n`);
const alice = makeKey('ed25519');
const wKey = makeKey('ed25519');
const vKey = makeKey('ed25519');
const mallory = makeKey('ed25519');
const pub = (k: ForgeKey) => parseKeyBlob(k.blob);
const now = new Date();

const version = (unlistedNodes?: 'accept' | 'refuse') =>
  renderVersion({
    version: 1,
    allowedSigners: `alice ${alice.line}\n${nodeSignerLine('w', pub(wKey))}\n${nodeSignerLine('v', pub(vKey))}\n`,
    policy: { version: 1, admins: ['alice'], rules: [{ signers: ['*'], runners: ['*'], nodes: ['*'] }], ...(unlistedNodes ? { unlistedNodes } : {}) },
  }, undefined).version;

function sign(key: ForgeKey, path: string, bytes: Uint8Array, namespace?: string): Buffer {
  const m = signedMessage(path, bytes);
  return Buffer.from(forge({ key, namespace: namespace ?? m.namespace, message: m.message }));
}

const verdict = (opts: { path?: string; bytes?: Buffer; node?: string | null; sidecar?: Buffer; v?: ReturnType<typeof version>; revoke?: string[] }) => {
  const path = opts.path ?? CLAIM;
  const bytes = opts.bytes ?? claimBytes(opts.node ?? 'w');
  return nodeFileVerdict({ path, bytes, node: opts.node === undefined ? 'w' : opts.node, ...(opts.sidecar ? { sidecar: opts.sidecar } : {}) }, opts.v ?? version(), opts.revoke ? { revoke: opts.revoke } : {}, now);
};
const reason = (v: ReturnType<typeof verdict>) => (v.counts ? 'counts' : v.reason);

describe('node files under trust', () => {
  it("counts a claim signed by its node's listed key", () => {
    expect(verdict({ sidecar: sign(wKey, CLAIM, claimBytes('w')) })).toEqual({ counts: true, node: 'w', signed: true });
  });

  it('refuses, with the reason: unsigned, signed by another node, by a stranger, a copied signature, the wrong namespace, a revoked node key', () => {
    expect(reason(verdict({}))).toMatch(/^forged in the name of node w: it is not signed;/);
    expect(reason(verdict({ sidecar: sign(vKey, CLAIM, claimBytes('w')) }))).toMatch(/signed by the key of node v/);
    expect(reason(verdict({ sidecar: sign(mallory, CLAIM, claimBytes('w')) }))).toMatch(/is not a key of node w here/);
    const other = `claims/${OTHER}.1.md`;
    expect(reason(verdict({ sidecar: sign(wKey, other, claimBytes('w', OTHER)) }))).toMatch(/does not verify \(mismatch/);
    expect(reason(verdict({ sidecar: sign(wKey, CLAIM, claimBytes('w'), 'gitbus-response@v1') }))).toMatch(/does not verify \(wrong-namespace/);
    expect(reason(verdict({ sidecar: sign(wKey, CLAIM, claimBytes('w')), revoke: [pub(wKey).fingerprint] }))).toMatch(/^forged/);
  });

  it('a person allowed to dispatch anything still cannot write in a node\'s name, and a node key cannot dispatch', () => {
    expect(reason(verdict({ sidecar: sign(alice, CLAIM, claimBytes('w')) }))).toMatch(/not a key of node w/);
    const v = version();
    expect(principalsOf(v, pub(wKey), 'gitbus-handoff@v1', {}, now)).toEqual([]);
    expect(nodesSpokenFor(v, pub(wKey), 'gitbus-handoff@v1', {}, now)).toEqual([]);
    expect(nodesSpokenFor(v, pub(wKey), 'gitbus-response@v1', {}, now)).toEqual(['w']);
    expect([...listedNodeKeys(v, {}).keys()].sort()).toEqual(['v', 'w']);
  });

  it('an unlisted node: its files count while the version accepts unlisted nodes, and are forged once it refuses them', () => {
    const x = claimBytes('x');
    expect(verdict({ node: 'x', bytes: x })).toEqual({ counts: true, node: 'x', signed: false });
    expect(reason(verdict({ node: 'x', bytes: x, v: version('refuse') }))).toMatch(/lists no key for x and refuses unlisted nodes/);
  });

  it('a file that does not parse counts only when a listed node signed it, or while unlisted nodes are accepted', () => {
    const junk = Buffer.from('not a claim');
    expect(verdict({ node: null, bytes: junk, sidecar: sign(wKey, CLAIM, junk) })).toEqual({ counts: true, node: 'w', signed: true });
    expect(verdict({ node: null, bytes: junk }).counts).toBe(true);
    expect(reason(verdict({ node: null, bytes: junk, v: version('refuse') }))).toMatch(/names no node/);
  });

  it('node cards and responses are judged the same way, in their own namespaces', () => {
    const card = Buffer.from('---\nnode: w\n---\n');
    expect(verdict({ path: 'nodes/w.md', bytes: card, sidecar: sign(wKey, 'nodes/w.md', card) }).counts).toBe(true);
    expect(reason(verdict({ path: 'nodes/w.md', bytes: card, sidecar: sign(wKey, 'nodes/v.md', card) }))).toMatch(/mismatch/);
    const resp = Buffer.from(`---\nid: ${ID}\nstatus: succeeded\nnode: w\nfinished: 2026-11-21T04:29:33.000Z\n---\n`);
    expect(reason(verdict({ path: `responses/${ID}.md`, bytes: resp }))).toMatch(/^forged in the name of node w/);
  });
});
