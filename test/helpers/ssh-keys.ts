import { execFileSync } from 'node:child_process';

/** The SHA256 fingerprint `ssh-keygen -lf` prints for a public key file (what `trust add --fingerprint` takes). */
export function fingerprintOf(pubPath: string): string {
  return execFileSync('ssh-keygen', ['-lf', pubPath], { encoding: 'utf8' }).split(' ')[1] ?? '';
}

/** Environment for a process that must not find a signing key in the user's git config (tests pass keys explicitly). */
export const NO_GIT_KEY = { GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' } as const;
