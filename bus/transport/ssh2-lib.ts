import type * as Ssh2 from 'ssh2';
import { ownRequire } from '../../schemas/own-require.js';

let lib: typeof Ssh2 | undefined;

/**
 * ssh2, loaded on first use: only SSH remotes pay for it (it is ~1 MB of JavaScript with its crypto), and the
 * CLI bundle leaves it out (its optional native addons cannot be bundled).
 */
export function ssh2(): typeof Ssh2 {
  lib ??= ownRequire('ssh2') as typeof Ssh2;
  return lib;
}
