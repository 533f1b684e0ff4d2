import type * as IsoGit from 'isomorphic-git';

type IsoGitApi = typeof IsoGit.default;

let loading: Promise<IsoGitApi> | undefined;

/**
 * isomorphic-git, loaded on first use (issue 14): with its CommonJS dependencies and pako it is ~560 KB that
 * every command compiled at start-up, while a node reads and writes its clone's loose objects with node:zlib
 * (store/loose-read.ts, git/loose-object.ts) and a local remote is read and written directly
 * (transport/local-direct.ts). It is needed for a packed object, a fetch through git's protocol (indexing the
 * pack), a push without prebuilt objects, and a new clone. test/e2e/cli-startup.test.ts checks that `status` and
 * `dispatch` on a local bus do not load it.
 */
export function isoGit(): Promise<IsoGitApi> {
  // Its CommonJS build's module.exports, which holds every function: what Node's import() of a CommonJS module
  // and esbuild's chunk for it both give as the default export (the bundle's chunk has no named exports).
  loading ??= import('isomorphic-git').then((m) => m.default);
  return loading;
}
