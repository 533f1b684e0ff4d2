import { ownRequire } from './own-require.js';

/**
 * node:zlib, loaded on first use. Loading it runs ~20 of Node's own modules (node:stream and its parts), and its
 * first call sets up more: ~2.5 ms of a `dispatch` or `status` that reads and writes only small objects, which gitbus
 * stores uncompressed and reads without it (bus/git/zlib-stored.ts), and whose small checksums it works out in
 * JavaScript (schemas/sum32.ts). Objects git compressed, large objects and large checksums come here (docs/PERFORMANCE.md
 * "Small objects stored, and a start without node:zlib").
 */
let loaded: typeof import('node:zlib') | undefined;

export function nodeZlib(): typeof import('node:zlib') {
  loaded ??= ownRequire('node:zlib') as typeof import('node:zlib');
  return loaded;
}
