import { describe, it, expect } from 'vitest';
import type { Handoff } from '../../schemas/handoff.js';
import { handoffTrust, type EnforcedTrust } from '../../bus/trust/handoff-trust.js';
import { trustedJudge } from '../../bus/trust/enforce.js';
import { signedMessage } from '../../bus/trust/messages.js';
import { parseKeyBlob } from '../../bus/trust/ssh-key.js';
import { renderVersion } from '../../bus/trust/change.js';
import { policyRefusal } from '../../watcher/run-task.js';
import { forge, makeKey, type ForgeKey } from '../helpers/sshsig-forge.js';

/** The verdict on one handoff from its bytes, sidecar and the accepted trust version (bus/trust/handoff-trust.ts). */

const ID = '20261121-042933-k3f9qx';
const OTHER = '20261121-042934-a1b2c3';
const PATH = `handoffs/${ID}.md`;
const BYTES = Buffer.from(`---\nid: ${ID}\ntitle: t\nto: w\ncommand: make\n---\n`);
const HANDOFF = { id: ID, title: 't', to: 'w', command: 'make' } as unknown as Handoff;
const alice = makeKey('ed25519');
const bob = makeKey('ed25519');
const mallory = makeKey('ed25519');
const fpOf = (k: ForgeKey) => parseKeyBlob(k.blob).fingerprint;

const accepted = renderVersion({
  version: 1,
  allowedSigners: `alice ${alice.line}\nbob ${bob.line}\n`,
  policy: { version: 1, admins: ['alice'], rules: [{ signers: ['alice'], runners: ['shell'], nodes: ['w'] }, { signers: ['bob'], runners: ['claude'], nodes: ['*'] }] },
}, undefined).version;
const trust: EnforcedTrust = { accepted, node: {} };
const W = { name: 'w', labels: [] };
const now = new Date();

function sig(key: ForgeKey, path = PATH, bytes: Uint8Array = BYTES, namespace?: string) {
  const m = signedMessage(path, bytes);
  return [{ path: `signatures/${path}.sig`, content: Buffer.from(forge({ key, namespace: namespace ?? m.namespace, message: m.message })) }];
}

describe('the trust verdict on a handoff', () => {
  it('trusts a handoff signed by a signer a rule allows for its runner and this node, naming the signer and the rule', () => {
    const t = handoffTrust(PATH, BYTES, sig(alice), HANDOFF, trust, W, now);
    expect(t).toEqual({ trusted: true, signer: { principals: ['alice'], fingerprint: fpOf(alice) }, rule: 1 });
  });

  it('refuses, with the reason: unsigned, a key not in trust, the wrong namespace, a copied signature, a signer not allowed, a revoked key, another node', () => {
    const why = (t: ReturnType<typeof handoffTrust>) => (t.trusted ? 'trusted' : t.reason);
    expect(why(handoffTrust(PATH, BYTES, [], HANDOFF, trust, W, now))).toMatch(/^unsigned: /);
    expect(why(handoffTrust(PATH, BYTES, sig(mallory), HANDOFF, trust, W, now))).toMatch(/does not list as a signer of handoffs/);
    expect(why(handoffTrust(PATH, BYTES, sig(alice, PATH, BYTES, 'gitbus-claim@v1'), HANDOFF, trust, W, now))).toMatch(/^bad signature \(wrong-namespace\)/);
    expect(why(handoffTrust(PATH, BYTES, sig(alice, `handoffs/${OTHER}.md`), HANDOFF, trust, W, now))).toMatch(/^bad signature \(mismatch\)/);
    expect(why(handoffTrust(PATH, BYTES, sig(bob), HANDOFF, trust, W, now))).toMatch(/signed by bob .* may not make node w run this shell task: no rule/);
    expect(why(handoffTrust(PATH, BYTES, sig(alice), HANDOFF, { accepted, node: { revoke: [fpOf(alice)] } }, W, now))).toMatch(/a key this node revoked/);
    expect(why(handoffTrust(PATH, BYTES, sig(alice), HANDOFF, { accepted, node: { revoke: ['alice'] } }, W, now))).toMatch(/principals are revoked on this node/);
    expect(why(handoffTrust(PATH, BYTES, sig(alice), HANDOFF, trust, { name: 'x', labels: [] }, now))).toMatch(/may not make node x run/);
  });

  it('the judge refuses an untrusted task before node policy, and gives policy.signers the verified signer', () => {
    const config = { node: 'w', labels: [], runners: ['shell'], policy: { signers: ['bob'] } } as unknown as Parameters<typeof trustedJudge>[1];
    const verdicts = new Map([
      [ID, handoffTrust(PATH, BYTES, sig(alice), HANDOFF, trust, W, now)],
      [OTHER, handoffTrust(PATH, BYTES, [], HANDOFF, trust, W, now)],
    ]);
    const judge = trustedJudge('/nowhere', config, verdicts);
    const signed = judge?.(HANDOFF, ID);
    expect(signed).toMatchObject({ ok: false, fields: ['policy.signers'] });
    expect(signed && !signed.ok ? signed.reason : '').toContain(`signed by alice (${fpOf(alice)})`);
    const unsigned = judge?.(HANDOFF, OTHER);
    expect(unsigned).toMatchObject({ ok: false, fields: ['trust'] });
    expect(unsigned && !unsigned.ok ? policyRefusal('w', unsigned) : '').toMatch(/^refused: untrusted: unsigned: .*; nothing was run/);
    expect(judge?.(HANDOFF, 'never-checked')).toMatchObject({ ok: false, fields: ['trust'] });
  });
});
