import { ownRequire } from './own-require.js';

/**
 * node:crypto, loaded on first use. Loading it runs ~15 of Node's own modules (~12 M instructions), which `status`
 * and `dispatch` on a local bus paid at every start for modules they load but whose hashes, keys and random names
 * they do not need (docs/PERFORMANCE.md "Start-up: one copy of node:fs, node:crypto on first use"). What they use
 * instead: temp-file names and task ids from Math.random (schemas/math-random.ts), the SHA-1 of the few objects a
 * command writes in JavaScript (bus/git/sha1.ts). Signing, SSH, packs and the rest come here.
 */
let loaded: typeof import('node:crypto') | undefined;

export function nodeCrypto(): typeof import('node:crypto') {
  loaded ??= ownRequire('node:crypto') as typeof import('node:crypto');
  return loaded;
}

/** node:crypto when something has loaded it through `nodeCrypto` already, else undefined (and it stays unloaded). */
export function nodeCryptoIfLoaded(): typeof import('node:crypto') | undefined {
  return loaded;
}
