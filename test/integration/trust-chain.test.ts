import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/cli.js';
import { applyEdit, firstVersion, renderVersion, signerLine, type TrustEdit, type VersionContent } from '../../bus/trust/change.js';
import { contentDigest, linkPath } from '../../bus/trust/chain-files.js';
import { countedAdmins, verifyRoot, walkChain, type VerifyEnv, type VersionFiles } from '../../bus/trust/chain.js';
import { evaluateTrust, type ChainOnBus } from '../../bus/trust/root.js';
import { newPin } from '../../bus/trust/pin.js';
import { signBusFile } from '../../bus/trust/sign.js';
import { loadSigningKey, type SigningKey } from '../../bus/trust/signing-key.js';
import { parseVersion, renderPolicy, type TrustVersion } from '../../bus/trust/version-content.js';
import { renderYaml } from '../../schemas/safe-yaml.js';

/**
 * The trust chain's rules with real ssh-keygen keys and signatures, without a bus: each test builds the chain's
 * files in memory as `gitbus trust` would (or as someone with push access might), and judges them.
 */

const NOW = new Date();
const env = (node: VerifyEnv['node'] = {}): VerifyEnv => ({ node, now: NOW });

let dir: Awaited<ReturnType<typeof tempDir>>;
const keys: Record<string, SigningKey> = {};
const pub = (name: string) => (keys[name] as SigningKey).parsed.key;
const fp = (name: string) => pub(name).fingerprint;

interface Built {
  files: VersionFiles;
  version: TrustVersion;
}

/** A version's files signed by `signers` (key names); `previous` is the previous version's digest. */
async function build(content: VersionContent, previous: string | undefined, signers: string[]): Promise<Built> {
  const r = renderVersion(content, previous);
  const link = Buffer.from(r.link);
  const signatures = [];
  for (const s of signers) {
    const signed = await signBusFile(linkPath(content.version), link, keys[s] as SigningKey);
    signatures.push({ path: signed.sidecar, content: Buffer.from(signed.armored) });
  }
  return { files: { version: content.version, link, allowedSigners: Buffer.from(r.allowedSigners), policy: Buffer.from(r.policy), signatures }, version: r.version };
}

async function next(prev: Built, edit: TrustEdit, signers: string[]): Promise<Built> {
  return build(applyEdit(prev.version, edit), prev.version.digest, signers);
}

function chainOf(...versions: Built[]): ChainOnBus {
  const map = new Map(versions.map((b) => [b.files.version, b.files]));
  return { present: true, versions: map, newest: Math.max(...map.keys()), copies: {}, problems: [] };
}

/** Version 1: admins alice (and carol with `withCarol`), bob a plain signer. */
async function root(opts: { threshold?: number; withCarol?: boolean; signers?: string[] } = {}): Promise<Built> {
  const admins = [{ principal: 'alice', key: pub('alice') }, ...(opts.withCarol ? [{ principal: 'carol', key: pub('carol') }] : [])];
  const content = firstVersion(admins, opts.threshold);
  content.allowedSigners += `${signerLine('bob', pub('bob'))}\n`;
  return build(content, undefined, opts.signers ?? ['alice']);
}

beforeAll(async () => {
  dir = await tempDir('gitbus-trust-chain-');
  for (const name of ['alice', 'bob', 'carol', 'alice2']) {
    const file = join(dir.path, name);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', file]);
    keys[name] = await loadSigningKey(file, 'test');
  }
});
afterAll(async () => {
  await dir.cleanup();
});

describe('the trust chain', () => {
  it('version 1 is accepted when signed by its own admin, refused when signed by anyone else', async () => {
    const good = await root();
    expect(verifyRoot(good.files, env()).step.status).toBe('accepted');
    const byBob = await root({ signers: ['bob'] });
    const step = verifyRoot(byBob.files, env()).step;
    expect(step.status).toBe('refused');
    if (step.status === 'refused') expect(step.reason).toContain(`bob (${fp('bob')}), which is not an admin key of version 1`);
  });

  it('an admin adds a signer: version 2 is accepted, and gitbus\'s signature verifies with ssh-keygen -Y verify', async () => {
    const v1 = await root();
    const v2 = await next(v1, { kind: 'add-signer', principal: 'carol', key: pub('carol') }, ['alice']);
    const walk = walkChain(v1.version, chainOf(v1, v2).versions, env());
    expect(walk.stop).toBeUndefined();
    expect(walk.accepted.version).toBe(2);
    expect(walk.steps.map((s) => s.signedBy[0]?.principals)).toEqual([['alice']]);
    // Interop: the link's signature is what ssh-keygen -Y verify accepts against version 1's allowed signers.
    const signers = join(dir.path, 'allowed_signers.v1');
    execFileSync('sh', ['-c', `cat > ${signers}`], { input: v1.files.allowedSigners });
    const sig = join(dir.path, 'v2.sig');
    execFileSync('sh', ['-c', `cat > ${sig}`], { input: v2.files.signatures[0]?.content });
    const message = Buffer.concat([Buffer.from(`gitbus trust v1\n${linkPath(2)}\n`), v2.files.link as Uint8Array]);
    const out = execFileSync('ssh-keygen', ['-Y', 'verify', '-f', signers, '-I', 'alice', '-n', 'gitbus-trust@v1', '-s', sig], { input: message, encoding: 'utf8' });
    expect(out).toContain('Good "gitbus-trust@v1" signature for alice');
  });

  it('a trust change signed by a non-admin is refused with the reason, and the node stays at the previous version', async () => {
    const v1 = await root();
    const v2 = await next(v1, { kind: 'add-signer', principal: 'carol', key: pub('carol') }, ['bob']);
    const walk = walkChain(v1.version, chainOf(v1, v2).versions, env());
    expect(walk.accepted.version).toBe(1);
    expect(walk.stop?.status).toBe('refused');
    if (walk.stop?.status === 'refused') {
      expect(walk.stop.reason).toContain('version 2 has none of the 1 signature(s) it needs from admins of version 1 (alice)');
      expect(walk.stop.reason).toContain(`signed by bob (${fp('bob')}), which is not an admin key of version 1`);
    }
  });

  it('with threshold 2 one admin\'s signature is a proposal waiting for the other; two admins accept it; one admin with two keys counts once', async () => {
    const v1 = await root({ threshold: 2, withCarol: true, signers: ['alice', 'carol'] });
    expect(verifyRoot(v1.files, env()).step.status).toBe('accepted');
    const edit: TrustEdit = { kind: 'add-signer', principal: 'alice', key: pub('alice2') };
    const one = await next(v1, edit, ['alice']);
    const pending = walkChain(v1.version, chainOf(v1, one).versions, env());
    expect(pending.accepted.version).toBe(1);
    expect(pending.stop).toMatchObject({ status: 'pending', version: 2, needed: 2, waitingFor: ['carol'] });
    const both = await next(v1, edit, ['alice', 'carol']);
    expect(walkChain(v1.version, chainOf(v1, both).versions, env()).accepted.version).toBe(2);
    // Version 2 gave alice a second key; both of her keys on version 3 are still one admin of two.
    const v2 = both;
    const v3 = await next(v2, { kind: 'threshold', threshold: 1 }, ['alice', 'alice2']);
    const w = walkChain(v2.version, chainOf(v1, v2, v3).versions, env());
    expect(w.accepted.version).toBe(2);
    // Two signatures, one admin: "waits for 1 more" (trust list, doctor), not for none.
    expect(w.stop).toMatchObject({ status: 'pending', version: 3, needed: 2, counted: 1, waitingFor: ['carol'] });
  });

  it('one key listed for two admins counts for one of them: a version written by hand gains nothing from it, and gitbus refuses to write one', async () => {
    const twice = firstVersion([{ principal: 'alice', key: pub('alice') }, { principal: 'carol', key: pub('alice') }], 2);
    expect(() => renderVersion(twice, undefined)).toThrow(/the key \S+ would be listed for admins alice and carol: one key counts for one admin/);
    // Written by hand as renderVersion would, less its check: alice's one signature stands for one of the two.
    const policy = renderPolicy(twice.policy);
    const digest = contentDigest(Buffer.from(twice.allowedSigners), Buffer.from(policy));
    const link = Buffer.from(`# link\n${renderYaml({ version: 1, digest })}`);
    const signed = await signBusFile(linkPath(1), link, keys['alice'] as SigningKey);
    const files: VersionFiles = { version: 1, link, allowedSigners: Buffer.from(twice.allowedSigners), policy: Buffer.from(policy), signatures: [{ path: signed.sidecar, content: Buffer.from(signed.armored) }] };
    expect(verifyRoot(files, env()).step).toMatchObject({ status: 'pending', needed: 2, counted: 1 });
    // On a version that has such a key already (written before gitbus refused it), the change that mends it is made:
    // carol gets a key of her own; a change that shares another key is still refused.
    const parsed = parseVersion(1, files.allowedSigners ?? Buffer.alloc(0), files.policy ?? Buffer.alloc(0));
    if (!parsed.ok) throw new Error('the hand-written version does not parse');
    expect(() => renderVersion(applyEdit(parsed.value, { kind: 'add-signer', principal: 'carol', key: pub('carol') }), parsed.value.digest, parsed.value)).not.toThrow();
    const more = applyEdit(parsed.value, { kind: 'add-admin', principal: 'dave', key: pub('alice') });
    expect(() => renderVersion(more, parsed.value.digest, parsed.value)).toThrow(/would be listed for admins/);
    // The most admins the keys can stand for, each key for one: a key of alice's and carol's, and one of alice's alone.
    expect(countedAdmins([{ principals: ['alice', 'carol'] }, { principals: ['alice'] }])).toEqual(new Set(['alice', 'carol']));
    expect(countedAdmins([{ principals: ['alice', 'carol'] }, { principals: ['alice', 'carol'] }, { principals: ['carol'] }]).size).toBe(2);
  });

  it('a key revoked in node.yaml is refused even though the bus allows it, by fingerprint or by principal', async () => {
    const v1 = await root();
    const v2 = await next(v1, { kind: 'add-signer', principal: 'carol', key: pub('carol') }, ['alice']);
    for (const revoke of [[fp('alice')], ['alice']]) {
      const walk = walkChain(v1.version, chainOf(v1, v2).versions, env({ revoke }));
      expect(walk.accepted.version, String(revoke)).toBe(1);
      expect(walk.stop?.status).toBe('refused');
      if (walk.stop?.status === 'refused') expect(walk.stop.reason).toMatch(/revoked in this node's node\.yaml/);
    }
    // Accepted by a node that has not revoked it: the bus alone allows it.
    expect(walkChain(v1.version, chainOf(v1, v2).versions, env()).accepted.version).toBe(2);
  });

  it('a node\'s own threshold raises the bus\'s, never lowers it', async () => {
    const v1 = await root({ withCarol: true });
    const v2 = await next(v1, { kind: 'add-signer', principal: 'bob', key: pub('alice2') }, ['alice']);
    expect(walkChain(v1.version, chainOf(v1, v2).versions, env({ threshold: 2 })).stop).toMatchObject({ status: 'pending', needed: 2 });
    const strict = await root({ threshold: 2, withCarol: true, signers: ['alice', 'carol'] });
    const s2 = await next(strict, { kind: 'add-signer', principal: 'bob', key: pub('alice2') }, ['alice']);
    expect(walkChain(strict.version, chainOf(strict, s2).versions, env({ threshold: 1 })).stop).toMatchObject({ status: 'pending', needed: 2 });
  });

  it('an expired admin key does not sign, whatever a signature could claim: validity is read on the verifier\'s clock', async () => {
    const content = firstVersion([{ principal: 'alice', key: pub('alice') }, { principal: 'carol', key: pub('carol') }]);
    content.allowedSigners = `alice valid-before="20200101Z" ${pub('alice').line}\ncarol ${pub('carol').line}\n`;
    const v1 = await build(content, undefined, ['carol']);
    const v2 = await next(v1, { kind: 'add-signer', principal: 'bob', key: pub('bob') }, ['alice']);
    const walk = walkChain(v1.version, chainOf(v1, v2).versions, env());
    expect(walk.accepted.version).toBe(1);
    if (walk.stop?.status === 'refused') expect(walk.stop.reason).toContain('may not sign trust changes now: line 1: the key expired');
    else expect.fail(`expected a refusal, got ${JSON.stringify(walk.stop)}`);
  });

  it('a skipped version is refused: the walk stops before the gap', async () => {
    const v1 = await root();
    const v2 = await next(v1, { kind: 'add-signer', principal: 'carol', key: pub('carol') }, ['alice']);
    const v3 = await next(v2, { kind: 'add-admin', principal: 'carol' }, ['alice']);
    const v4 = await next(v3, { kind: 'threshold', threshold: 2 }, ['alice']);
    const walk = walkChain(v1.version, chainOf(v1, v2, v4).versions, env());
    expect(walk.accepted.version).toBe(2);
    expect(walk.stop).toMatchObject({ status: 'refused', version: 3 });
    if (walk.stop?.status === 'refused') expect(walk.stop.reason).toContain('version 3 is missing, but version 4 exists: a skipped version');
  });

  it('a fork is refused: another version N than the one this node accepted, or a version that does not follow it', async () => {
    const v1 = await root();
    const mine = await next(v1, { kind: 'add-signer', principal: 'carol', key: pub('carol') }, ['alice']);
    const other = await next(v1, { kind: 'add-signer', principal: 'carol', key: pub('alice2') }, ['alice']);
    // This node accepted `mine` as version 2; the bus now holds `other` as version 2, properly signed.
    const pin = { ...newPin(v1.version, 'fingerprints', NOW), accepted: { version: 2, digest: mine.version.digest, allowedSigners: mine.version.allowedSigners, policy: mine.version.policyText, at: NOW.toISOString() } };
    const report = evaluateTrust(chainOf(v1, other), pin, mine.version, env());
    expect(report.accepted?.version).toBe(2);
    expect(report.accepted?.digest).toBe(mine.version.digest);
    expect(report.stop).toMatchObject({ status: 'refused', version: 2 });
    if (report.stop?.status === 'refused') expect(report.stop.reason).toContain('a fork of the trust chain');
    expect(report.pinMatches).toBe(true);
    // Had this node pinned its version 2 itself, the pin would no longer match the bus.
    expect(evaluateTrust(chainOf(v1, other), newPin(mine.version, 'digest', NOW), mine.version, env()).pinMatches).toBe(false);
    // A version 3 built on the other version 2 does not follow this node's version 2.
    const v3 = await next(other, { kind: 'add-admin', principal: 'carol' }, ['alice']);
    const walk = walkChain(mine.version, chainOf(v1, mine, v3).versions, env());
    expect(walk.accepted.version).toBe(2);
    if (walk.stop?.status === 'refused') expect(walk.stop.reason).toContain(`version 3 follows ${other.version.digest}, not version 2 as this node accepted it`);
    else expect.fail('expected a refusal');
  });

  it('files changed after signing, and a signature copied from another version, do not count', async () => {
    const v1 = await root();
    const v2 = await next(v1, { kind: 'add-signer', principal: 'carol', key: pub('carol') }, ['alice']);
    const tampered: Built = { ...v2, files: { ...v2.files, allowedSigners: Buffer.concat([v2.files.allowedSigners as Uint8Array, Buffer.from(`${signerLine('mallory', pub('bob'))}\n`)]) } };
    const t = walkChain(v1.version, chainOf(v1, tampered).versions, env()).stop;
    expect(t?.status === 'refused' && t.reason).toContain('they were changed after signing');
    // Version 1's valid signature, renamed onto version 2's link: the path is in the signed message.
    const sig = v1.files.signatures[0];
    if (!sig) throw new Error('no signature');
    const copied: Built = { ...v2, files: { ...v2.files, signatures: [{ path: sig.path.replace('/1.yaml.', '/2.yaml.'), content: sig.content }] } };
    const c = walkChain(v1.version, chainOf(v1, copied).versions, env()).stop;
    expect(c?.status === 'refused' && c.reason).toContain('mismatch');
  });

  it('a node whose pinned version the bus no longer has keeps its own, and says the bus is behind', async () => {
    const v1 = await root();
    const v2 = await next(v1, { kind: 'add-signer', principal: 'carol', key: pub('carol') }, ['alice']);
    const pin = { ...newPin(v1.version, 'fingerprints', NOW), accepted: { version: 2, digest: v2.version.digest, allowedSigners: v2.version.allowedSigners, policy: v2.version.policyText, at: NOW.toISOString() } };
    const report = evaluateTrust(chainOf(v1), pin, v2.version, env());
    expect(report.accepted?.version).toBe(2);
    expect(report.behind).toEqual({ bus: 1, accepted: 2 });
  });
});

// Guard against a key fixture that silently failed to generate.
it('the test keys are real ssh-keygen keys', () => {
  expect(readFileSync(join(dir.path, 'alice.pub'), 'utf8')).toMatch(/^ssh-ed25519 /);
});
