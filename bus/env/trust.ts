import type { NodeConfig } from '../home.js';
import type { Snapshot } from '../model/snapshot.js';
import { isRevoked } from '../trust/chain.js';
import { enforcedTrust } from '../trust/enforce.js';
import { readSidecarsOf, unreadSidecarWords, type UnreadSidecar } from '../trust/file-signatures.js';
import type { EnforcedTrust, TrustTarget } from '../trust/handoff-trust.js';
import { signedMessage } from '../trust/messages.js';
import { principalsOf, ruleAllows } from '../trust/policy-rules.js';
import { checkSshsig } from '../trust/sshsig.js';
import type { Sidecar } from '../trust/file-signatures.js';
import type { EnvProfile } from './profile.js';
import { instantMs } from '../../schemas/timestamp.js';
import { envProfileOfManifest } from '../../schemas/signature-layout.js';

/**
 * A profile change is code: Claude Code's settings hold hooks, a shell's rc file runs at every login. On a bus whose
 * trust root this node enforces, a profile is applied only when its manifest (which names the SHA-256 of every
 * file) carries a signature that verifies in the namespace gitbus-env@v1, by a key the accepted trust version lists
 * for it and this node has not revoked, and a rule of that version lets the signer make this node run the `shell`
 * runner (a profile runs as the node's user, like a shell task). Pure; `profileVerdict` reads the sidecar.
 */

export type ProfileTrust = { trusted: true; principals: string[]; fingerprint: string; rule: number } | { trusted: false; reason: string; fix: string };

const captureAgain = (profile: string) => `capture the profile again from a node with a signing key an allowed signer holds (node.yaml signingKey): "gitbus env capture ${profile} --rebuild" signs only what that node captured or applied itself and what --add names`;
const signFix = (profile: string) => `look at what changed first (git log -p on the bus's main, env/${profile}): anyone with push access may have written it. Then ${captureAgain(profile)}`;

/** `unread`: what holds the sidecar's name without being a file (file-signatures.ts), said instead of "no signature". */
export function profileTrust(path: string, bytes: Uint8Array, sidecars: readonly Sidecar[], trust: EnforcedTrust, target: TrustTarget, now: Date, unread: readonly UnreadSidecar[] = []): ProfileTrust {
  const v = trust.accepted;
  // The profile's name for the commands a fix offers, from the manifest's path.
  const profile = envProfileOfManifest(path) ?? 'PROFILE';
  const sidecar = sidecars[0];
  const u = sidecar ? undefined : unread[0];
  if (u) {
    const w = unreadSidecarWords(u, path, captureAgain(profile));
    return { trusted: false, reason: `unsigned: ${w.reason}, and this bus has a trust root (version ${v.version})`, fix: w.fix };
  }
  if (!sidecar) return { trusted: false, reason: `unsigned: ${path} has no signature (signatures/${path}.sig), and this bus has a trust root (version ${v.version})`, fix: signFix(profile) };
  const m = signedMessage(path, bytes);
  const check = checkSshsig(sidecar.content, m.message, m.namespace);
  if (!check.ok) return { trusted: false, reason: `bad signature (${check.reason}): ${check.error.message.split('\n')[0] ?? check.reason}`, fix: signFix(profile) };
  const key = check.signer;
  if (isRevoked(trust.node, key.fingerprint)) return { trusted: false, reason: `signed by ${key.fingerprint}, a key this node revoked (node.yaml trust.revoke)`, fix: 'have someone whose key is not revoked capture it again' };
  const principals = principalsOf(v, key, m.namespace, trust.node, now);
  if (principals.length === 0) return { trusted: false, reason: `signed by ${key.fingerprint}, which trust version ${v.version} does not list as a signer of environment profiles (${m.namespace})`, fix: 'an admin adds the key ("gitbus trust add signer"), or capture it with a listed key' };
  const verdict = ruleAllows(v, { principals, runner: 'shell', node: { name: target.name, labels: target.labels } });
  if (!verdict.allowed) {
    return { trusted: false, reason: `signed by ${principals.join(', ')} (${key.fingerprint}), who may not change what node ${target.name} runs as its user (a profile counts as a shell task): ${verdict.reason}`, fix: 'an admin adds a rule letting the signer run shell tasks on this node ("gitbus trust add rule --runners shell")' };
  }
  return { trusted: true, principals, fingerprint: key.fingerprint, rule: verdict.rule };
}

/** The verdict on a profile for this node, or null when it enforces no trust (no pinned root): every profile goes. */
export async function profileVerdict(snap: Snapshot, profile: Pick<EnvProfile, 'manifestPath' | 'manifestBytes'>, home: string, config: Pick<NodeConfig, 'trust' | 'node' | 'labels'>, now = new Date()): Promise<ProfileTrust | null> {
  const trust = await enforcedTrust(snap, home, config);
  if (!trust) return null;
  const rootTree = snap.commit ? await snap.store.readCommitTree(snap.commit) : null;
  const { sidecars, unread } = rootTree ? await readSidecarsOf(snap.store, rootTree, profile.manifestPath) : { sidecars: [], unread: [] };
  return profileTrust(profile.manifestPath, profile.manifestBytes, sidecars, trust, { name: config.node, labels: config.labels }, now, unread);
}

/**
 * A signed profile older than the newest this node applied or captured (state.json's `updated`): an old signature
 * still verifies, so someone with push access could put back a profile its signer has since fixed. Undefined: not
 * older. Only a node that enforces a trust root asks (without one, anyone with push access writes any profile).
 */
export function staleReason(manifestUpdated: string | undefined, known: string | undefined): string | undefined {
  if (known === undefined) return undefined;
  if (manifestUpdated !== undefined && instantMs(manifestUpdated) >= instantMs(known)) return undefined;
  return `the profile on the bus (updated ${manifestUpdated ?? 'never'}) is older than the one this node last applied or captured (updated ${known}): an older signed profile was put back`;
}

export const staleFix = (profile: string) => `look at who put it back (git log on the bus's main, env/${profile}); then capture it again from a node with an allowed signing key: "gitbus env capture ${profile} --rebuild" signs a newer profile of that node's own files`;
