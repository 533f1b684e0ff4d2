import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

/** The SHA256 fingerprint `ssh-keygen -lf` prints for a public key file (what `trust add --fingerprint` takes). */
export function fingerprintOf(pubPath: string): string {
  return execFileSync('ssh-keygen', ['-lf', pubPath], { encoding: 'utf8' }).split(' ')[1] ?? '';
}

/** Environment for a process that must not find a signing key in the user's git config (tests pass keys explicitly). */
export const NO_GIT_KEY = { GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' } as const;

/** Real ed25519 key pairs `dir/NAME` and `dir/NAME.pub` (no passphrase, NAME as comment), made with ssh-keygen in a new `dir`. */
export function makeKeys(dir: string, names: readonly string[]): void {
  mkdirSync(dir);
  for (const name of names) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', join(dir, name)]);
}
