import type * as IsoGit from 'isomorphic-git';
import { nodeCrypto } from '../../schemas/node-crypto.js';
import { ownRequire } from '../../schemas/own-require.js';
import type { Hash } from 'node:crypto';

type IsoGitApi = typeof IsoGit.default;

let loading: Promise<IsoGitApi> | undefined;

/**
 * isomorphic-git, loaded on first use (issue 14): with its CommonJS dependencies and pako it is ~560 KB that
 * every command compiled at start-up, while a node reads and writes its clone's loose objects with node:zlib
 * (store/loose-read.ts, git/loose-object.ts) and a local remote is read and written directly
 * (transport/local-direct.ts). It is needed for a packed object, a fetch of a pack too big to explode (indexing
 * it), and a push without prebuilt objects. test/e2e/cli-startup.test.ts checks that `status`, `dispatch`, `init`,
 * `join`, `doctor` and `watch --once` on a local bus do not load it.
 */
export function isoGit(): Promise<IsoGitApi> {
  if (!loading) {
    preferNodeSha1();
    // Its CommonJS build's module.exports, which holds every function: what Node's import() of a CommonJS module
    // and esbuild's chunk for it both give as the default export (the bundle's chunk has no named exports).
    loading = import('isomorphic-git').then((m) => m.default);
  }
  return loading;
}

/** sha.js's Sha1 constructor over node:crypto: `new` on a function that returns an object gives that object. */
function nodeSha1(): Hash {
  return nodeCrypto().createHash('sha1');
}

/**
 * isomorphic-git hashes with the sha.js package, whose require() chain (to-buffer, typed-array-buffer,
 * get-intrinsic and a dozen polyfill packages) was half of its ~70 ms load; node:crypto's SHA-1 has the same
 * `new Hash().update(b).digest(enc)` shape. Node lets a program put a module into require.cache before anything
 * requires it, so isomorphic-git's own require('sha.js/sha1.js') gets this one. Where isomorphic-git is not
 * resolvable from here (the ES module bundle holds it, and aliases sha.js the same way: scripts/bundle.mjs), sha.js
 * loads as before.
 */
function preferNodeSha1(): void {
  try {
    // node:module here, not at the module's top: `status` initialises this module and never loads isomorphic-git,
    // and node:module's public module loads Node's ES module loader and source maps (~0.5 ms, issue 14).
    const { Module, createRequire } = ownRequire('node:module') as typeof import('node:module');
    const shaPath = createRequire(ownRequire.resolve('isomorphic-git')).resolve('sha.js/sha1.js');
    if (ownRequire.cache[shaPath]) return;
    const m = new Module(shaPath);
    m.filename = shaPath;
    m.loaded = true;
    m.exports = nodeSha1;
    ownRequire.cache[shaPath] = m;
  } catch {
    // Not resolvable from here: isomorphic-git is bundled, or installed where this module cannot see it.
  }
}
