import type { Snapshot } from '../model/snapshot.js';
import type { Step } from './chain.js';
import { newPin, type TrustPin } from './pin.js';
import { evaluateTrust, readChain, type ChainOnBus } from './root.js';
import { unacceptableRootFix } from './lint-trust-root.js';
import { TrustDeclinedError, TrustPinMismatchError, TrustPinRequiredError, TrustRootRefusedError } from './root-errors.js';
import { adminKeysOf, parseVersion, type AdminKey, type TrustVersion } from './version-content.js';

/**
 * Pinning the trust root, at join or later (`gitbus trust pin`): like a first SSH connection, the admin keys are
 * shown with their fingerprints and a person (or a flag naming them) says yes. What is offered is the newest
 * version reached from version 1 along the signed chain; a person may instead name any version of that path by
 * its digest.
 */

export interface TrustOffer {
  version: number;
  digest: string;
  admins: AdminKey[];
  threshold: number;
  /** The newest version on the bus, and why the chain stops before it (when it does). */
  newest: number;
  stop?: Extract<Step, { status: 'pending' | 'refused' }>;
}

export interface TrustChoice {
  /** Admin key fingerprints the person vouches for: every admin key of the version pinned must be among them. */
  fingerprints?: string[];
  /** The digest of the version to pin. */
  rootDigest?: string;
  /** Asks the person at the terminal; absent when there is none. */
  confirm?: (offer: TrustOffer) => Promise<boolean>;
}

/** The versions reached from version 1, oldest first, each as read from the bus. */
function pathFromRoot(chain: ChainOnBus, now: Date): { path: TrustVersion[]; offer: TrustOffer } {
  const report = evaluateTrust(chain, null, null, { node: {}, now });
  if (!report.accepted) {
    const stop = report.stop;
    const reason = stop?.status === 'pending' ? `version 1 waits for signatures of its admins (${stop.counted} of ${stop.needed})` : (stop?.reason ?? 'no version 1');
    // The joiner cannot repair the bus's chain: the fix names the file and who can.
    const fix = stop?.status === 'pending' || stop?.unsigned === true ? 'join once the admins have signed version 1 ("gitbus trust sign 1")' : stop ? unacceptableRootFix(stop) : 'the trust root starts at version 1, written by "gitbus trust init"';
    throw new TrustRootRefusedError(reason, fix);
  }
  const path: TrustVersion[] = [];
  for (let n = 1; n <= report.accepted.version; n++) {
    const f = chain.versions.get(n);
    const r = f?.allowedSigners && f.policy ? parseVersion(n, f.allowedSigners, f.policy) : undefined;
    if (r?.ok) path.push(r.value);
  }
  const v = report.accepted;
  return { path, offer: { version: v.version, digest: v.digest, admins: adminKeysOf(v), threshold: v.policy.threshold ?? 1, newest: chain.newest, ...(report.stop ? { stop: report.stop } : {}) } };
}

/**
 * What this node should pin on `snap`'s bus, or null when the bus has no trust root (nothing given then). Throws
 * when the choice does not match the root, when nobody can be asked, or when the person says no.
 */
export async function choosePin(snap: Snapshot, choice: TrustChoice, now = new Date()): Promise<TrustPin | null> {
  const chain = await readChain(snap);
  if (!chain.present) {
    if (choice.fingerprints || choice.rootDigest) throw new TrustPinMismatchError('a trust root was named (--trust or --trust-root), but the bus has none', 'check the URL; if this bus has no trust root yet, leave the flag out (and pin later with "gitbus trust pin")');
    return null;
  }
  const { path, offer } = pathFromRoot(chain, now);
  if (choice.rootDigest) {
    const v = path.find((p) => p.digest === choice.rootDigest);
    if (!v) throw new TrustPinMismatchError(`no version of the bus's trust chain has the digest ${choice.rootDigest}`, `check the digest with your admins; the newest accepted version is ${offer.version}, ${offer.digest}`, { digest: choice.rootDigest, offer });
    return newPin(v, 'digest', now);
  }
  const newest = path[path.length - 1];
  if (!newest) throw new TrustRootRefusedError('no version could be read', 'see "gitbus trust list" on an admin\'s node');
  if (choice.fingerprints) {
    const given = new Set(choice.fingerprints);
    const missing = offer.admins.filter((a) => !given.has(a.fingerprint));
    if (missing.length > 0) {
      throw new TrustPinMismatchError(
        `the trust root's admin keys are not all among the fingerprints given: ${missing.map((a) => `${a.principal} ${a.fingerprint}`).join(', ')} ${missing.length === 1 ? 'is' : 'are'} missing`,
        `check every admin key with your admins; to trust them, give --trust ${[...new Set(offer.admins.map((a) => a.fingerprint))].join(',')}`,
        { missing, offer },
      );
    }
    return newPin(newest, 'fingerprints', now);
  }
  if (!choice.confirm) throw new TrustPinRequiredError(offer.version, offer.digest, offer.admins);
  if (!(await choice.confirm(offer))) throw new TrustDeclinedError(offer.digest);
  return newPin(newest, 'prompt', now);
}
