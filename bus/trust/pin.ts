import { existsSync, readFileSync } from 'node:fs';
import { trustPinSchema, type TrustPin } from '../../schemas/trust-pin.js';
import { writeFileAtomicSync } from '../local-io.js';
import { withLocalLockSync } from '../lock.js';
import { TrustPinInvalidError } from './root-errors.js';
import { adminKeysOf, parseVersion, type TrustVersion } from './version-content.js';
import { joinPlain } from '../join-plain.js';

export type { TrustPin } from '../../schemas/trust-pin.js';

export function pinPath(home: string): string {
  return joinPlain(home, 'trust-pin.json');
}

export function loadPin(home: string): TrustPin | null {
  const path = pinPath(home);
  if (!existsSync(path)) return null;
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new TrustPinInvalidError(path, (err as Error).message);
  }
  const r = trustPinSchema.safeParse(value);
  if (!r.success) throw new TrustPinInvalidError(path, r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  return r.data;
}

/** The accepted version as stored, checked against its own digest (a hand-edited pin is refused, not believed). */
export function acceptedOf(pin: TrustPin, home: string): TrustVersion {
  const a = pin.accepted;
  const r = parseVersion(a.version, Buffer.from(a.allowedSigners, 'utf8'), Buffer.from(a.policy, 'utf8'));
  if (!r.ok) throw new TrustPinInvalidError(pinPath(home), `the accepted version ${a.version} does not parse: ${r.problems[0]?.reason ?? 'invalid'}`);
  if (r.value.digest !== a.digest) throw new TrustPinInvalidError(pinPath(home), `the accepted version's files do not match its digest ${a.digest}`);
  return r.value;
}

export function newPin(version: TrustVersion, how: TrustPin['pinned']['how'], now: Date): TrustPin {
  const at = now.toISOString();
  return {
    pinned: {
      version: version.version,
      digest: version.digest,
      admins: adminKeysOf(version),
      at,
      how,
    },
    accepted: acceptedRecord(version, at),
  };
}

function acceptedRecord(v: TrustVersion, at: string): TrustPin['accepted'] {
  return { version: v.version, digest: v.digest, allowedSigners: v.allowedSigners, policy: v.policyText, at };
}

export function savePin(home: string, pin: TrustPin): void {
  writeFileAtomicSync(pinPath(home), `${JSON.stringify(pin, null, 2)}\n`);
}

/**
 * Records that this node now accepts `version`. Only forward: under a short lock the stored pin is read again,
 * so a process that verified an older state never moves another's newer one back.
 */
export function advancePin(home: string, version: TrustVersion, now: Date): TrustPin | null {
  return withLocalLockSync(`${pinPath(home)}.lock`, () => {
    const pin = loadPin(home);
    if (!pin || pin.accepted.version >= version.version) return pin;
    const next = { ...pin, accepted: acceptedRecord(version, now.toISOString()) };
    savePin(home, next);
    return next;
  });
}
