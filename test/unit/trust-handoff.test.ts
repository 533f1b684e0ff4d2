import { describe, it, expect } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Snapshot } from '../../bus/model/snapshot.js';
import type { TaskFiles } from '../../bus/model/types.js';
import { claimedLine, markEndsRemoved, noteClaimed, parseSeenLog, seenEndedPath } from '../../bus/trust/seen-ended.js';
import type { Handoff } from '../../schemas/handoff.js';
import { handoffTrust, type EnforcedTrust, type HandoffTrust } from '../../bus/trust/handoff-trust.js';
import { trustedJudge } from '../../bus/trust/enforce.js';
import { signedMessage } from '../../bus/trust/messages.js';
import { parseKeyBlob } from '../../bus/trust/ssh-key.js';
import { applyEdit, firstVersion, renderVersion } from '../../bus/trust/change.js';
import { boundedByAge, maxHandoffAgeMs } from '../../bus/trust/handoff-age.js';
import { parseVersion } from '../../bus/trust/version-content.js';
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

  it('names the line of a listed key that may not sign handoffs now (expired, not valid yet, other namespaces), not a key missing from trust', () => {
    const dated = renderVersion({
      version: 2,
      allowedSigners: `alice ${alice.line}\nbob valid-before="20200101Z" ${bob.line}\nmallory valid-after="20990101Z" ${mallory.line}\n`,
      policy: { version: 2, admins: ['alice'], rules: [{ signers: ['alice', 'bob', 'mallory'], runners: ['shell'], nodes: ['*'] }] },
    }, undefined).version;
    const why = (key: ForgeKey) => {
      const t = handoffTrust(PATH, BYTES, sig(key), HANDOFF, { accepted: dated, node: {} }, W, now);
      return t.trusted ? { reason: 'trusted', fix: '' } : t;
    };
    expect(why(bob)).toEqual({ trusted: false, reason: `signed by bob (${fpOf(bob)}), whose key trust version 2 lists but does not let it sign handoffs now: line 2: the key expired at 2020-01-01T00:00:00.000Z`, fix: expect.stringContaining('an admin lists a key that may sign handoffs now for bob') });
    expect(why(mallory).reason).toBe(`signed by mallory (${fpOf(mallory)}), whose key trust version 2 lists but does not let it sign handoffs now: line 3: the key is not valid before 2099-01-01T00:00:00.000Z`);
    const cancelsOnly = renderVersion({ version: 1, allowedSigners: `alice ${alice.line}\nbob namespaces="gitbus-cancel@v1" ${bob.line}\n`, policy: { version: 1, admins: ['alice'], rules: [{ signers: ['bob'], runners: ['shell'], nodes: ['*'] }] } }, undefined).version;
    const t = handoffTrust(PATH, BYTES, sig(bob), HANDOFF, { accepted: cancelsOnly, node: {} }, W, now);
    expect(t.trusted ? '' : t.reason).toMatch(/whose key trust version 1 lists but does not let it sign handoffs now: line 2 allows only the namespaces gitbus-cancel@v1, not gitbus-handoff@v1$/);
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

describe('what a node saw end, cancelled or claimed (seen-ended.log)', () => {
  const files = (claims: number[], more: Partial<TaskFiles> = {}): TaskFiles => ({ id: ID, handoff: { path: PATH, oid: 'h' }, claims: new Map(claims.map((a) => [a, { path: `claims/${ID}.${a}.md`, oid: `c${a}` }])), releases: new Map(), ...more });
  /** Only what markEndsRemoved reads of a snapshot: its index (and views, which it asks only after a cancel). */
  const snapOf = (f: TaskFiles) => ({ index: { tasks: new Map([[ID, f]]) }, view: async () => undefined }) as unknown as Snapshot;
  const home = () => mkdtempSync(join(tmpdir(), 'gitbus-seen-'));
  const judged = async (h: string, f: TaskFiles) => {
    const verdicts = new Map<string, HandoffTrust>([[ID, { trusted: true, signer: { principals: ['alice'], fingerprint: 'SHA256:x' }, rule: 0 }]]);
    await markEndsRemoved(h, snapOf(f), verdicts);
    return verdicts.get(ID);
  };

  it('reads the lines of every gitbus: bare ids, cancels, claims; a line it does not know, or cut short, is skipped', () => {
    const seen = parseSeenLog([ID, `cancelled ${OTHER}`, claimedLine(ID, 2), `claimed ${ID} 1`, `claimed ${OTHER}`, `claimed ${OTHER} 0`, `claimed ${OTHER} 1 x`, 'claimed no/such 3', 'released x 1', ''].join('\n'));
    expect([...seen.ended]).toEqual([ID]);
    expect([...seen.cancelled]).toEqual([OTHER]);
    expect([...seen.claimed]).toEqual([[ID, 2]]);
    // What an older gitbus reads of a claim's line: not a task id, so nothing.
    expect(parseSeenLog(`claimed ${ID} 1`).ended.size).toBe(0);
  });

  it('refuses a task whose highest claim it saw is gone, leaving it alone; a later claim or a release changes nothing', async () => {
    const h = home();
    try {
      noteClaimed(h, [[ID, 1]]);
      expect(readFileSync(seenEndedPath(h), 'utf8')).toBe(`claimed ${ID} 1\n`);
      expect((await judged(h, files([1])))?.trusted).toBe(true);
      expect((await judged(h, files([1, 2], { releases: new Map([[1, { path: `releases/${ID}.1.md`, oid: 'r' }]]) })))?.trusted).toBe(true);
      const gone = await judged(h, files([]));
      expect(gone).toMatchObject({ trusted: false, leaveAlone: true });
      expect(gone?.trusted === false && gone.reason).toMatch(/^replayed: this node saw task .* claimed \(attempt 1\), and that claim was removed from the bus since/);
      noteClaimed(h, [[ID, 2], [ID, 1]]);
      expect(readFileSync(seenEndedPath(h), 'utf8')).toBe(`claimed ${ID} 1\nclaimed ${ID} 2\n`);
      // Attempt 2 seen: only its removal counts now, the first claim's removal too (the second was taken from it).
      expect((await judged(h, files([1])))).toMatchObject({ trusted: false, leaveAlone: true });
      expect((await judged(h, files([2])))?.trusted).toBe(true);
    } finally {
      rmSync(h, { recursive: true, force: true });
    }
  });

  it('an end it saw removed is refused first, and answered (not left alone): nobody runs an ended task', async () => {
    const h = home();
    try {
      mkdirSync(join(h, 'trust'));
      writeFileSync(seenEndedPath(h), `${ID}\nclaimed ${ID} 1\n`);
      const v = await judged(h, files([]));
      expect(v).toMatchObject({ trusted: false });
      expect(v).not.toHaveProperty('leaveAlone');
      expect(v?.trusted === false && v.reason).toMatch(/saw task .* end/);
    } finally {
      rmSync(h, { recursive: true, force: true });
    }
  });
});

describe('the signed freshness bound (maxHandoffAge, bus/trust/handoff-age.ts)', () => {
  const bounded = (maxHandoffAge?: string) =>
    renderVersion({
      version: 4,
      allowedSigners: `alice ${alice.line}\n`,
      policy: { version: 4, admins: ['alice'], rules: [{ signers: ['alice'], runners: ['shell'], nodes: ['w'] }], ...(maxHandoffAge ? { maxHandoffAge } : {}) },
    }, undefined).version;
  const NOW = new Date('2026-12-01T12:00:00Z');
  const signedBy = handoffTrust(PATH, BYTES, sig(alice), HANDOFF, trust, W, NOW);
  const at = (created?: string): Handoff => ({ ...HANDOFF, ...(created ? { created } : {}) }) as Handoff;
  const why = (t: HandoffTrust) => (t.trusted ? 'trusted' : t.reason);

  it('trusts a signed handoff created within the bound, up to the bound ahead (clocks differ), and anything at all without a bound', () => {
    expect(signedBy.trusted).toBe(true);
    expect(boundedByAge(signedBy, PATH, at('2026-11-20T12:00:00Z'), bounded('30d'), NOW)).toBe(signedBy);
    expect(boundedByAge(signedBy, PATH, at('2026-12-01T12:00:50Z'), bounded('30d'), NOW)).toBe(signedBy);
    // A dispatcher's clock ten minutes fast, or even days: within the bound ahead.
    expect(boundedByAge(signedBy, PATH, at('2026-12-01T12:10:00Z'), bounded('1h'), NOW)).toBe(signedBy);
    expect(boundedByAge(signedBy, PATH, at('2026-12-20T12:00:00Z'), bounded('30d'), NOW)).toBe(signedBy);
    // No maxHandoffAge: existing buses are unchanged, however old the handoff or whether it says when.
    expect(boundedByAge(signedBy, PATH, at('2020-01-01T00:00:00Z'), bounded(), NOW)).toBe(signedBy);
    expect(boundedByAge(signedBy, PATH, at(), bounded(), NOW)).toBe(signedBy);
  });

  it('refuses a signed handoff older than the bound as stale, naming the file, created, the bound and the version, with the fix', () => {
    const t = boundedByAge(signedBy, PATH, at('2026-10-01T12:00:00Z'), bounded('30d'), NOW);
    expect(t).toEqual({
      trusted: false,
      reason: `stale: ${PATH} was signed with created 2026-10-01T12:00:00Z, older than the trust policy's maxHandoffAge (30d, trust version 4); a replayed old handoff is refused`,
      fix: 'dispatch it again as a new task (an admin can raise maxHandoffAge: "gitbus trust max-handoff-age DURATION")',
    });
    expect(why(boundedByAge(signedBy, PATH, at('2026-12-01T10:59:59Z'), bounded('1h'), NOW))).toMatch(/^stale: /);
    // A handoff that does not say when it was made cannot be shown fresh.
    expect(why(boundedByAge(signedBy, PATH, at(), bounded('30d'), NOW))).toMatch(/^stale: handoffs\/.* has no created, so its age cannot be told against the trust policy's maxHandoffAge \(30d, trust version 4\)/);
  });

  it('refuses a created further ahead than the bound: a handoff dated ahead would stay fresh past the bound', () => {
    const t = boundedByAge(signedBy, PATH, at('2099-01-01T00:00:00Z'), bounded('30d'), NOW);
    expect(why(t)).toBe(`dated ahead: ${PATH} was signed with created 2099-01-01T00:00:00Z, further ahead of this node's clock (2026-12-01T12:00:00.000Z) than the trust policy's maxHandoffAge (30d, trust version 4); a handoff dated ahead would stay fresh past the bound`);
    expect(t.trusted ? '' : t.fix).toMatch(/check the clock of the machine that dispatched it/);
    expect(why(boundedByAge(signedBy, PATH, at('2026-12-01T13:00:01Z'), bounded('1h'), NOW))).toMatch(/^dated ahead: /);
    // A bound under a minute still lets clocks differ by a minute.
    expect(boundedByAge(signedBy, PATH, at('2026-12-01T12:00:50Z'), bounded('10s'), NOW)).toBe(signedBy);
  });

  it('leaves an untrusted verdict as it is, and exempts a schedule template (it runs for ever)', () => {
    const unsigned = handoffTrust(PATH, BYTES, [], HANDOFF, trust, W, NOW);
    expect(boundedByAge(unsigned, PATH, at('2020-01-01T00:00:00Z'), bounded('1h'), NOW)).toBe(unsigned);
    const template = { ...at('2025-01-01T00:00:00Z'), schedule: '0 3 * * *' } as Handoff;
    expect(boundedByAge(signedBy, PATH, template, bounded('1h'), NOW)).toBe(signedBy);
  });

  it('reads a malformed maxHandoffAge as a problem of the version, naming the file, the field and the fix; trust init writes 30d; the edit sets and removes it', () => {
    const policy = (v: string) => Buffer.from(`version: 1\nadmins: [alice]\nmaxHandoffAge: ${v}\n`);
    for (const bad of ['30 days', '0s', '"1D"']) {
      const r = parseVersion(1, Buffer.from(`alice ${alice.line}\n`), policy(bad));
      expect(r.ok).toBe(false);
      const p = r.ok ? undefined : r.problems[0];
      expect(p).toMatchObject({ path: 'trust/chain/1.policy.yaml', field: 'maxHandoffAge', severity: 'error' });
      expect(p?.fix).toMatch(/duration/);
    }
    expect(parseVersion(1, Buffer.from(`alice ${alice.line}\n`), policy('90d')).ok).toBe(true);
    const v1 = renderVersion(firstVersion([{ principal: 'alice', key: parseKeyBlob(alice.blob) }]), undefined);
    expect(v1.policy).toMatch(/^maxHandoffAge: 30d$/m);
    expect(maxHandoffAgeMs(v1.version.policy)).toBe(30 * 86_400_000);
    expect(applyEdit(v1.version, { kind: 'max-handoff-age', value: '90d' }).policy.maxHandoffAge).toBe('90d');
    expect(applyEdit(v1.version, { kind: 'max-handoff-age', value: null }).policy.maxHandoffAge).toBeUndefined();
    expect(() => applyEdit(v1.version, { kind: 'max-handoff-age', value: '30d' })).toThrow(/maxHandoffAge is already 30d in version 1/);
  });
});
