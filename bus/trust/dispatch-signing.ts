import { existsSync } from 'node:fs';
import type { BusContext } from '../context.js';
import { localSnapshot } from '../ops/query.js';
import { SigningKeyMissingError, SigningRequiredError } from './errors.js';
import { enforcedTrust } from './enforce.js';
import { pinPath } from './pin.js';
import { signBusFile } from './sign.js';
import { resolveSigningKey, type SigningKey } from './signing-key.js';

/**
 * Signing what a command writes (docs/PROTOCOL.md §12): `dispatch`, `fanout`, `run` and `cancel` sign their file
 * when a key is configured (node.yaml signingKey, else git's SSH signing key), and the sidecar goes into the same
 * commit. On a bus whose trust root this node pinned, writing without a key is refused (no node would act on it)
 * unless the person says `--unsigned` (a bus migrating to signed handoffs).
 */

/** A signature made for a bus file: the sidecar's path and its armored content. */
export interface SidecarFile {
  path: string;
  content: string;
}

/** Signs the bus file at `path` whose content is `text`. */
export type BusFileSigner = (path: string, text: string) => Promise<SidecarFile>;

export function signerWith(key: SigningKey): BusFileSigner {
  return async (path, text) => {
    const s = await signBusFile(path, Buffer.from(text, 'utf8'), key);
    return { path: s.sidecar, content: s.armored };
  };
}

/**
 * The signer for a command of this node, or undefined to write unsigned: `--unsigned`, no key, or only git's
 * commit-signing key, on a bus this node does not enforce trust on. A key configured for gitbus (`--key`, node.yaml
 * `signingKey`) that is unusable is an error, never a silent unsigned write.
 */
export async function commandSigner(ctx: BusContext, opts: { unsigned?: boolean } = {}): Promise<BusFileSigner | undefined> {
  if (opts.unsigned) return undefined;
  let key: SigningKey;
  // Without a pin this node enforces no trust (enforce.ts), so git's own key would not be used: it is not even
  // looked up, which saves every dispatch a git process (issue 14) and a failure over a key git keeps for commits.
  const git = existsSync(pinPath(ctx.paths.home));
  try {
    key = await resolveSigningKey({ home: ctx.paths.home, config: ctx.config, git, keyFlag: false });
  } catch (err) {
    if (!(err instanceof SigningKeyMissingError)) throw err;
    const trust = await enforcedTrust(await localSnapshot(ctx), ctx.paths.home, ctx.config);
    if (trust) throw new SigningRequiredError(trust.accepted.version, err.looked);
    return undefined;
  }
  // git's own signing key (gpg.format=ssh) is borrowed only where a signature is asked for: on a bus whose trust
  // this node enforces. Elsewhere a key git keeps for commits (locked, on a security key) must not make dispatch fail.
  if (key.source === 'git user.signingkey' && !(await enforcedTrust(await localSnapshot(ctx), ctx.paths.home, ctx.config))) return undefined;
  return signerWith(key);
}
