import { writeSync } from 'node:fs';
import { join } from 'node:path';
import { GITBUS_VERSION } from '../bus/version.js';
import { ownRequire } from '../schemas/own-require.js';
import { writeStd } from './std-write.js';
import { LOADER_FILE } from './bundle-names.js';
import { buildIdentityParts } from './bundle-identity.js';
import { cacheFolders, readyFolders, type CacheFolders } from './code-cache-folders.js';
import { cachePlace, readCache, readText, type CachePlace, type Found, type settleCache } from './code-cache-store.js';
import { wrappedSource, type ModuleWrapper } from './cjs-wrapper.js';
import { EXIT } from './exit.js';
import type { CodeCacheReport } from './code-cache.js';

/**
 * What bin/gitbus.js runs first (dist/cli/gitbus-boot.cjs): the loader (dist/cli/gitbus-loader.cjs, cli/code-cache.ts)
 * with a V8 code cache of its own, as the loader runs a command's bundle with one. Node compiled the loader's ~43 KB
 * at every start, ~0.8 ms, and then each of its functions as it was first called: with a cache a `status` starts
 * ~0.75 ms sooner, a `dispatch` ~0.4 ms (issue 14, docs/PERFORMANCE.md "The loader's and the bundle's own start").
 * The boot holds the cache folders' checks, the cache file's read and the build's identity, which the loader then
 * takes from it rather than doing them again; bin/gitbus.js compiles it, with the code cache the build made for it
 * (scripts/boot-cache.mjs). The cache is `<key folder>/gitbus.loader.bin` beside the commands' (the key folder
 * names every file of the build, the loader's too), read and written by the same rules (cli/code-cache-store.ts);
 * with no usable cache folder, or GITBUS_CODE_CACHE=0, the loader is compiled as Node would.
 */
export function boot(): void {
  const args = process.argv.slice(2);
  // `gitbus --version` needs the version only: as commander prints it, without the loader, a bundle or commander
  // (docs/PERFORMANCE.md "Small objects stored, and a start without node:zlib").
  if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) return writeStd('stdout', `${GITBUS_VERSION}\n`);
  const here = import.meta.dirname;
  const path = join(here, LOADER_FILE);
  let read: ReturnType<typeof readText>;
  try {
    read = readText(path);
  } catch (err) {
    return damaged(path, `it cannot be read (${errorText(err)})`);
  }
  const env = process.env;
  const looked = env['GITBUS_CODE_CACHE'] === '0' ? undefined : loaderCache(here, { path, st: read.st }, env);
  const cache = looked !== undefined && 'place' in looked ? looked : undefined;
  // The folders and the build's parts, also where the loader's own cache place is unavailable (a read-only key folder
  // without its file): the command's cache may be there, and the loader decides by it whether to ask to be served.
  const known = looked !== undefined && 'folders' in looked ? looked : undefined;
  const { Script } = ownRequire('node:vm') as typeof import('node:vm');
  const found = cache?.found;
  const module: { exports: Partial<LoaderExports> } = { exports: {} };
  let script: import('node:vm').Script;
  try {
    script = new Script(wrappedSource(read.text), { filename: path, ...(found?.state === 'found' ? { cachedData: found.data } : {}) });
    (script.runInThisContext() as ModuleWrapper)(module.exports, ownRequire, module, path, here);
  } catch (err) {
    // Cut short by an interrupted copy, mostly: a SyntaxError.
    return damaged(path, `it does not compile or run (${errorText(err)})`);
  }
  // A loader cut short at a statement's end, or emptied, compiles and runs, and exports nothing: without this the
  // command would end with a TypeError's stack.
  if (typeof module.exports.runCli !== 'function' || typeof module.exports.ranCommand !== 'function' || typeof module.exports.settleCache !== 'function') return damaged(path, 'it ran and exported no loader');
  const loader = module.exports as LoaderExports;
  const bin = fromBin();
  const booted: Booted = { importModule: bin.importModule, ...(bin.bootCache !== undefined ? { boot: bin.bootCache } : {}), loader: found === undefined ? (looked !== undefined && 'unusable' in looked ? looked.unusable : 'off') : found.state === 'found' ? (script.cachedDataRejected === true ? 'rejected' : 'accepted') : found.state };
  if (known !== undefined) {
    booted.folders = known.folders;
    booted.parts = known.parts;
  }
  if (cache !== undefined) {
    // First of the exit handlers (the loader's come after it, and report what it did).
    process.once('exit', (code) => {
      booted.loaderWritten = loader.settleCache(cache.place, cache.found, booted.loader === 'rejected', loader.ranCommand(), { failed: code !== 0 }, () => script.createCachedData());
    });
  }
  loader.runCli(booted);
}

/**
 * What bin/gitbus.js hands the boot, which it compiles in a vm.Script: the state of the boot's code cache, and an
 * import() of its own, since one in a vm.Script fails on Node 20 (for the ES module build). Without them (the boot
 * run some other way, by hand) there is no state to report, and the boot's own import() is the one to try.
 */
function fromBin(): { bootCache?: BootCacheState; importModule: (url: string) => Promise<unknown> } {
  const bin = (globalThis as Record<symbol, { bootCache?: unknown; importModule?: unknown } | undefined>)[Symbol.for('gitbus.bin')];
  const state = bin?.bootCache;
  const bootCache = state === 'accepted' || state === 'rejected' || state === 'none' || state === 'off' ? state : undefined;
  const importModule = typeof bin?.importModule === 'function' ? (bin.importModule as (url: string) => Promise<unknown>) : (url: string) => import(url);
  return { ...(bootCache !== undefined ? { bootCache } : {}), importModule };
}

/**
 * The boot's code cache, made by the build for the Node that built it (dist/cli/gitbus-boot-<node>-<arch>.v8): none
 * for another Node, or when the file is not the boot's; off with GITBUS_CODE_CACHE=0.
 */
export type BootCacheState = 'accepted' | 'rejected' | 'none' | 'off';

/** The loader cannot run: the installation is damaged (exit 7, as for a damaged bundle, cli/code-cache.ts). */
function damaged(path: string, why: string): void {
  writeSync(2, `gitbus: ${path} is damaged: ${why}, so nothing ran\n  fix: install gitbus again (or run "npm run build" in its folder)\n`);
  process.exitCode = EXIT.setup;
}

function errorText(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (typeof code === 'string') return code;
  return (err instanceof Error ? `${err.name}: ${err.message}` : String(err)).split('\n')[0] ?? '';
}

/**
 * What the boot found before it ran the loader (cli/code-cache.ts runCli takes it): the cache folders, checked private,
 * and the identity of each file of the build (cli/bundle-identity.ts), so that the loader looks at neither again.
 */
export interface Booted {
  folders?: CacheFolders;
  parts?: readonly string[];
  /** The boot's own code cache, as bin/gitbus.js found it. */
  boot?: BootCacheState;
  /** The loader's own code cache, as the loader reports it (CodeCacheReport in cli/code-cache.ts). */
  loader: CodeCacheReport['cache'];
  /** Set at exit, before the loader's own exit handlers run: a new cache file of the loader was written. */
  loaderWritten?: boolean;
  /**
   * import(), as a module Node compiled has it: the loader, a vm.Script, has none that works on Node 20 (without
   * importModuleDynamically it fails, and with it a function taken from the code cache loses it). For the ES module
   * build (cli/code-cache.ts runEsm).
   */
  importModule: (url: string) => Promise<unknown>;
}

/** What dist/cli/gitbus-loader.cjs exports (cli/loader.ts). */
export interface LoaderExports {
  runCli(booted: Booted): void;
  /** The loader found a command to run, here or in a watcher's standby: its own code cache is worth keeping. */
  ranCommand(): boolean;
  settleCache: typeof settleCache;
}

/**
 * The loader's cache place and what is there, when the cache folders can be used; else why not (the loader is then
 * compiled as without a cache, and finds the same problem for the command's bundle).
 */
function loaderCache(here: string, loader: { path: string; st: import('node:fs').BigIntStats }, env: NodeJS.ProcessEnv): { folders: CacheFolders; parts: string[]; place: CachePlace; found: Found } | { unusable: 'unsafe' | 'unavailable'; folders?: CacheFolders; parts?: string[] } {
  const folders = cacheFolders(env);
  if ('problem' in folders) return { unusable: folders.problem.state };
  const problem = readyFolders(folders, [folders.root, folders.keys]);
  if (problem) return { unusable: problem.state };
  const parts = buildIdentityParts(here, loader);
  const place = cachePlace(folders, parts.join('+'), 'gitbus', env, '.loader');
  const found = readCache(place);
  if (found.state === 'unsafe') return { unusable: found.state };
  // Unavailable: the key folder (private, or not there) cannot take the loader's file; gitbus's folders passed.
  if (found.state === 'unavailable') return { unusable: found.state, folders, parts };
  return { folders, parts, place, found };
}
