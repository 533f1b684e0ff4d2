import { describe, it, expect } from 'vitest';
import { parseAllowedSigners } from '../../bus/trust/allowed-signers.js';
import { checkFileSignatures, isSidecarName } from '../../bus/trust/file-signatures.js';
import { sidecarProblems } from '../../bus/trust/lint-signatures.js';
import { signedMessage } from '../../bus/trust/messages.js';
import { parseKeyBlob } from '../../bus/trust/ssh-key.js';
import { forge, makeKey } from '../helpers/sshsig-forge.js';

const ID = '20261121-042933-k3f9qx';
const HANDOFF = `handoffs/${ID}.md`;
const BYTES = Buffer.from('---\ntitle: t\n---\n');
const alice = makeKey('ed25519');
const bob = makeKey('p256');
const sign = (key: typeof alice, path: string, bytes: Uint8Array): Buffer => {
  const m = signedMessage(path, bytes);
  return Buffer.from(forge({ key, namespace: m.namespace, message: m.message }));
};

describe('a file\'s signatures', () => {
  it('is unsigned without sidecars, verified when all verify, invalid when one does not', () => {
    expect(checkFileSignatures(HANDOFF, BYTES, [], null).status).toBe('unsigned');
    const good = { path: `signatures/${HANDOFF}.sig`, content: sign(alice, HANDOFF, BYTES) };
    const r = checkFileSignatures(HANDOFF, BYTES, [good], parseAllowedSigners(`alice@example.com ${alice.line}\n`));
    expect(r).toMatchObject({ status: 'verified', kind: 'handoff', namespace: 'gitbus-handoff@v1' });
    expect(r.signatures[0]).toMatchObject({ ok: true, reason: null, principals: ['alice@example.com'], signer: { key: alice.line } });
    const stale = checkFileSignatures(HANDOFF, Buffer.concat([BYTES, Buffer.from('x')]), [good], null);
    expect(stale.status).toBe('invalid');
    expect(stale.signatures[0]).toMatchObject({ ok: false, reason: 'mismatch', principals: null });
  });

  it('takes co-signatures of a trust file, each named after its own signer', () => {
    const path = 'trust/policy.yaml';
    const a = parseKeyBlob(alice.blob);
    const b = parseKeyBlob(bob.blob);
    const both = checkFileSignatures(path, BYTES, [
      { path: `signatures/${path}.${a.tag}.sig`, content: sign(alice, path, BYTES) },
      { path: `signatures/${path}.${b.tag}.sig`, content: sign(bob, path, BYTES) },
    ], null);
    expect(both.status).toBe('verified');
    const swapped = checkFileSignatures(path, BYTES, [{ path: `signatures/${path}.${b.tag}.sig`, content: sign(alice, path, BYTES) }], null);
    expect(swapped.signatures[0]).toMatchObject({ ok: false, reason: 'misnamed' });
    expect(swapped.signatures[0]?.fix).toContain(`${path}.${a.tag}.sig`);
  });

  it('finds a file\'s sidecars by name only', () => {
    expect(isSidecarName(`${ID}.md.sig`, `${ID}.md`, false)).toBe(true);
    expect(isSidecarName(`${ID}.md.0123456789abcdef.sig`, `${ID}.md`, false)).toBe(false);
    expect(isSidecarName('policy.yaml.0123456789abcdef.sig', 'policy.yaml', true)).toBe(true);
    expect(isSidecarName('policy.yaml.sig', 'policy.yaml', true)).toBe(false);
    expect(isSidecarName(`${ID}.md.sig`, `${ID.slice(0, -1)}.md`, false)).toBe(false);
  });
});

describe('lint of signatures/', () => {
  const path = `signatures/${HANDOFF}.sig`;
  it('accepts a sidecar that verifies, and one whose file left main (archived)', () => {
    expect(sidecarProblems(path, '100644', sign(alice, HANDOFF, BYTES), BYTES)).toEqual([]);
    expect(sidecarProblems(path, '100644', sign(alice, HANDOFF, BYTES), undefined)).toEqual([]);
  });
  it('warns of a committed signature without its file, and refuses one that does not verify or is misplaced', () => {
    expect(sidecarProblems(path, '100644', sign(alice, HANDOFF, BYTES), undefined, true)[0]).toMatchObject({ severity: 'warning' });
    const copied = sidecarProblems(`signatures/handoffs/${ID.replace('k3f9qx', 'zzzzzz')}.md.sig`, '100644', sign(alice, HANDOFF, BYTES), BYTES);
    expect(copied[0]).toMatchObject({ severity: 'error' });
    expect(copied[0]?.reason).toMatch(/does not match this file/);
    expect(sidecarProblems(path, '100644', Buffer.from('junk'), BYTES)[0]?.reason).toMatch(/not a valid SSH signature/);
    expect(sidecarProblems('signatures/handoffs/notes.txt', '100644', null, undefined)[0]?.reason).toMatch(/not a \.sig file/);
    expect(sidecarProblems(path, '120000', null, undefined)[0]?.reason).toMatch(/symbolic link/);
    expect(sidecarProblems('README.md', '100644', null, undefined)).toEqual([]);
  });
});
