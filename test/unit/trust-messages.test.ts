import { describe, it, expect } from 'vitest';
import { InvalidIdError } from '../../schemas/ids.js';
import { isFileProblem } from '../../schemas/layout.js';
import { classifySignaturePath, isTrustPath, signaturePathFor, whyNotSignable } from '../../schemas/signature-layout.js';
import { NotSignableError } from '../../bus/trust/errors.js';
import { messageHeader, NAMESPACES, SIGNED_KINDS, sidecarPathFor, signedKindOf, signedMessage } from '../../bus/trust/messages.js';
import { parseKeyBlob } from '../../bus/trust/ssh-key.js';
import { makeKey } from '../helpers/sshsig-forge.js';

const ID = '20261121-042933-k3f9qx';

describe('namespaces and messages', () => {
  it('gives each kind a namespace of its own', () => {
    const all = SIGNED_KINDS.map((k) => NAMESPACES[k]);
    expect(new Set(all).size).toBe(SIGNED_KINDS.length);
    expect(NAMESPACES.handoff).toBe('gitbus-handoff@v1');
    expect(NAMESPACES.trust).toBe('gitbus-trust@v1');
  });

  it('finds the kind from the path', () => {
    expect(signedKindOf(`handoffs/${ID}.md`)).toBe('handoff');
    expect(signedKindOf(`claims/${ID}.2.md`)).toBe('claim');
    expect(signedKindOf(`releases/${ID}.2.md`)).toBe('release');
    expect(signedKindOf(`cancels/${ID}.md`)).toBe('cancel');
    expect(signedKindOf(`responses/${ID}.md`)).toBe('response');
    expect(signedKindOf('nodes/w.md')).toBe('node');
    expect(signedKindOf('trust/allowed_signers')).toBe('trust');
    expect(signedKindOf('gitbus.yaml')).toBeUndefined();
    expect(signedKindOf('README.md')).toBeUndefined();
    expect(signedKindOf(`handoffs/${ID}.txt`)).toBeUndefined();
  });

  it('signs a domain-separated message: kind and path, then the exact bytes', () => {
    const bytes = Buffer.from('---\ntitle: x\n---\r\nbody\u0000');
    const m = signedMessage(`handoffs/${ID}.md`, bytes);
    expect(m.namespace).toBe('gitbus-handoff@v1');
    expect(m.message.equals(Buffer.concat([Buffer.from(`gitbus handoff v1\nhandoffs/${ID}.md\n`), bytes]))).toBe(true);
    expect(messageHeader('claim', `claims/${ID}.1.md`)).toBe(`gitbus claim v1\nclaims/${ID}.1.md\n`);
    // The same bytes at another path are another message: a copied signature cannot verify there.
    expect(signedMessage(`handoffs/${ID.replace('k3f9qx', 'k3f9qy')}.md`, bytes).message.equals(m.message)).toBe(false);
  });

  it('refuses to sign a path that is not a bus file, naming why', () => {
    expect(() => signedMessage('gitbus.yaml', Buffer.alloc(0))).toThrow(NotSignableError);
    expect(() => signedMessage('handoffs/Bad.md', Buffer.alloc(0))).toThrow(/upper-case/);
    expect(() => signedMessage('notes/x.md', Buffer.alloc(0))).toThrow(/not in a bus folder/);
  });
});

describe('sidecar paths', () => {
  const key = parseKeyBlob(makeKey('ed25519').blob);

  it('puts a bus file\'s one signature at signatures/<path>.sig', () => {
    expect(sidecarPathFor(`handoffs/${ID}.md`)).toBe(`signatures/handoffs/${ID}.md.sig`);
    expect(sidecarPathFor(`handoffs/${ID}.md`, key)).toBe(`signatures/handoffs/${ID}.md.sig`);
    expect(sidecarPathFor('nodes/w.md')).toBe('signatures/nodes/w.md.sig');
  });

  it('names each co-signature of a trust file after its signer', () => {
    expect(sidecarPathFor('trust/policy.yaml', key)).toBe(`signatures/trust/policy.yaml.${key.tag}.sig`);
    expect(() => sidecarPathFor('trust/policy.yaml')).toThrow(InvalidIdError);
    expect(() => signaturePathFor(`handoffs/${ID}.md`, key.tag)).toThrow(/one signature/);
  });

  it('reads sidecar paths back, strictly', () => {
    expect(classifySignaturePath(`signatures/handoffs/${ID}.md.sig`)).toEqual({ signed: `handoffs/${ID}.md`, signer: null });
    expect(classifySignaturePath('signatures/trust/allowed_signers.0123456789abcdef.sig')).toEqual({ signed: 'trust/allowed_signers', signer: '0123456789abcdef' });
    expect(classifySignaturePath('README.md')).toBeUndefined();
    const bad: [string, RegExp][] = [
      [`signatures/handoffs/${ID}.md`, /not a \.sig file/],
      [`signatures/handoffs/${ID}.md.0123456789abcdef.sig`, /cannot carry a signature/],
      ['signatures/trust/policy.yaml.sig', /must name its signer/],
      ['signatures/trust/policy.yaml.0123456789ABCDEF.sig', /must name its signer/],
      ['signatures/gitbus.yaml.sig', /gitbus.yaml is not signed/],
      ['signatures/notes/x.md.sig', /not in a bus folder/],
      [`signatures/handoffs/sub/${ID}.md.sig`, /folder/],
      ['signatures/trust/../x.0123456789abcdef.sig', /cannot carry a signature/],
    ];
    for (const [path, why] of bad) {
      const r = classifySignaturePath(path);
      expect(isFileProblem(r), path).toBe(true);
      if (isFileProblem(r)) expect(r.reason, path).toMatch(why);
    }
    const link = classifySignaturePath(`signatures/handoffs/${ID}.md.sig`, '120000');
    expect(isFileProblem(link) && link.reason).toMatch(/symbolic link/);
  });

  it('accepts trust paths of lower-case segments only', () => {
    expect(isTrustPath('trust/allowed_signers')).toBe(true);
    expect(isTrustPath('trust/chain/0001.yaml')).toBe(true);
    expect(isTrustPath('trust/.hidden')).toBe(false);
    expect(isTrustPath('trust/Policy.yaml')).toBe(false);
    expect(isTrustPath('trust/a/b/c/d')).toBe(false);
    expect(isTrustPath('trust')).toBe(false);
    expect(whyNotSignable('trust/x.sig')).toMatch(/trust files are named/);
  });
});
