import { ssh2 } from './ssh2-lib.js';
import type { ParsedKey } from 'ssh2';
import { appendKnownHost, checkHostKey, fingerprintSha256, formatKnownHostsLine, knownHostsName, knownKeyTypes, readKnownHosts } from './known-hosts.js';
import { SshHostKeyChangedError, SshHostKeyUnknownError, type SshWhere } from './ssh-connect-errors.js';

export interface HostKeyPolicy {
  hostName: string;
  port: number;
  hostKeyAlias: string | undefined;
  userKnownHostsFiles: string[];
  globalKnownHostsFiles: string[];
  strict: 'yes' | 'ask' | 'accept-new' | 'no';
  hashKnownHosts: boolean;
}

/** ssh2's host key algorithms, in its default order. */
const ALL_HOST_KEY_ALGOS = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];

/** Signature algorithms that prove a key of each known_hosts type. */
function algosFor(keyType: string): string[] {
  return keyType === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [keyType];
}

export interface HostKeyCheck {
  /** For ssh2's `algorithms.serverHostKey`: key types known_hosts has for the host first, as OpenSSH orders them,
   * so a host with several keys is checked against the one we know rather than reported unknown. */
  algorithms: string[];
  /** ssh2's hostVerifier. */
  verify: (key: Buffer) => boolean;
  /** The refusal, when verify said no. */
  failure: () => Error | undefined;
  /** The key that was accepted and why, for `gitbus doctor`. */
  accepted: () => AcceptedHostKey | undefined;
}

export interface AcceptedHostKey {
  keyType: string;
  fingerprint: string;
  /** `known_hosts <file>:<line>`, or `added to <file>` (StrictHostKeyChecking accept-new). */
  how: string;
}

/** Host key checking the way OpenSSH does it against the user's (and the system's) known_hosts. */
export function hostKeyCheck(policy: HostKeyPolicy, where: SshWhere): HostKeyCheck {
  const name = policy.hostKeyAlias ?? knownHostsName(policy.hostName, policy.port);
  const files = [...policy.userKnownHostsFiles, ...policy.globalKnownHostsFiles];
  const entries = readKnownHosts(files);
  const known = knownKeyTypes(entries, name).flatMap(algosFor);
  const algorithms = [...new Set([...known, ...ALL_HOST_KEY_ALGOS])];
  let failure: Error | undefined;
  let accepted: AcceptedHostKey | undefined;
  const verify = (key: Buffer): boolean => {
    const parsed = ssh2().utils.parseKey(key) as ParsedKey | Error;
    const keyType = parsed instanceof Error ? 'unknown' : parsed.type;
    const fingerprint = fingerprintSha256(key);
    const verdict = checkHostKey(entries, name, keyType, key);
    if (verdict.kind === 'known') {
      accepted = { keyType, fingerprint, how: `known_hosts ${verdict.entry.file}:${verdict.entry.line}` };
      return true;
    }
    if (verdict.kind === 'changed' || verdict.kind === 'revoked') {
      failure = new SshHostKeyChangedError({ ...where, knownHostsName: name, keyType, knownKeyType: verdict.entry.keyType, fingerprint, file: verdict.entry.file, line: verdict.entry.line, revoked: verdict.kind === 'revoked' });
      return false;
    }
    const userFile = policy.userKnownHostsFiles[0];
    if ((policy.strict === 'accept-new' || policy.strict === 'no') && userFile) {
      // Like OpenSSH: remember the key on first use, so a later change is caught.
      appendKnownHost(userFile, formatKnownHostsLine(name, keyType, key, policy.hashKnownHosts));
      accepted = { keyType, fingerprint, how: `added to ${userFile} (StrictHostKeyChecking ${policy.strict})` };
      return true;
    }
    failure = new SshHostKeyUnknownError({
      ...where,
      knownHostsName: name,
      keyType,
      fingerprint,
      knownHostsFile: userFile ?? '~/.ssh/known_hosts',
      port: policy.port,
      hostName: policy.hostName,
    });
    return false;
  };
  return { algorithms, verify, failure: () => failure, accepted: () => accepted };
}
