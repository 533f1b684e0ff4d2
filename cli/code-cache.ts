import { accessSync, appendFileSync, constants, writeSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildIdentity, bundleFile } from './bundle-identity.js';
import type { BootCacheState, Booted } from './boot.js';
import { wrappedSource, type ModuleWrapper } from './cjs-wrapper.js';
import type { CommandEntry } from './command-table.js';
import { homeOf, notServable, nothingListens, ownProcessSooner, serveOrRun, trustedSocket } from './serve/client.js';
import { serveAtExit, serverWanted } from './serve/auto-start.js';
import { STANDBY_ENV } from './serve/standby-env.js';
export { bundleFile } from './bundle-identity.js';
import { hoistGlobalOptions, invokedCommand } from './invoked-command.js';
import { EXIT } from './exit.js';
import { cacheFolders, readyFolders } from './code-cache-folders.js';
import { cachePlace, readCache, readText, settleCache } from './code-cache-store.js';
import { schemasScript, type SchemasState } from './schemas-script.js';
import { COLD_BUNDLES, COLD_PREFIX, coldFile } from './cold-script-id.js';
import { ownRequire } from '../schemas/own-require.js';

/**
 * What bin/gitbus.js runs (issue 14): the CLI as a CommonJS bundle, compiled with `vm.Script` and a V8 code cache,
 * per command, in the user's cache folder. The bundle is the one the command's row names (`bundle` in
 * cli/command-table.ts: dist/cli/gitbus-bus.cjs, the short bus commands' modules only), else dist/cli/gitbus.cjs,
 * the whole CLI. Node 20 has no compile cache for ES modules, and compiling the modules of a bus command and the
 * functions it calls was ~40-60 ms of each start; with the cache V8 deserializes that code instead
 * (docs/PERFORMANCE.md "A V8 code cache (issue 14, session 9)"). The ES module build (dist/cli/gitbus.mjs) stays
 * for GITBUS_CODE_CACHE=0 and wherever the bundle cannot run.
 *
 * scripts/bundle.mjs bundles this file with invoked-command.ts and the command table into dist/cli/gitbus-loader.cjs,
 * CommonJS like bin/gitbus.js (bin/package.json): an ES module entry costs Node ~5 ms more to start, and each
 * built-in module it imports ~1 ms more than require() does.
 *
 * The cache is the code V8 compiled while the command ran, taken at exit (`createCachedData` then includes the
 * functions compiled on first call), in `<cache>/gitbus/code-cache/<node>-<arch>-<the bundle file's identity>/
 * <command>.bin` (the identities of all the bundles, so that one build has one key folder), `<cache>` being
 * $XDG_CACHE_HOME or ~/.cache (`<command>-<sum32>.bin` under Node options). It
 * is written when there was none or V8 refused it (another V8, other flags), by a run that ran a command's action
 * (not one that printed help), through a temp file and a rename. A place that cannot hold it (no home, cannot be
 * made or written, not private) runs the ES module build, which starts faster than the bundle without a cache.
 * Anything going wrong with it is silent and costs only the speed: the command runs the same with or without it.
 *
 * Bytecode from a file is code that runs, so a cache is used only from folders that this user owns and nobody else
 * may write to (never a shared /tmp that someone else created), and only when its checksum holds: V8 on Node 20
 * does not check one, and deserializing damaged bytes ended the process with a fatal error.
 */

/** One line of GITBUS_CODE_CACHE_REPORT: what the loader did (for tests and for looking into a slow start). */
export interface CodeCacheReport {
  /** The command that runs (its cache file's name), or "top" when none does (--version, --help). */
  command: string;
  /**
   * none: no cache yet; accepted: V8 used it; rejected: V8 refused it; corrupt: its checksum or header was
   * wrong; unsafe: its folder may be written by someone else, so it was not read; unavailable: there is no cache
   * folder, or it cannot be made or written; off: GITBUS_CODE_CACHE=0, no command to run, or no bundle. The ES
   * module build runs for off, unsafe and unavailable, the bundle for the rest.
   */
  cache: 'none' | 'accepted' | 'rejected' | 'corrupt' | 'unsafe' | 'unavailable' | 'off';
  /** A new cache file was written at exit. */
  written: boolean;
  /** The bundle that ran (its file name in dist/cli/), when one did. */
  bundle?: string;
  file?: string;
  /** Why the cache folder cannot be used (unsafe, unavailable). */
  reason?: string;
  /**
   * The schemas script (cli/schemas-script.ts): "unused" when it did not run (the command read none of its values,
   * or its bundle holds the schemas, as gitbus-bus.cjs and gitbus.cjs do), else its cache's state.
   */
  schemas?: SchemasState;
  /** A new cache file of the schemas script was written at exit. */
  schemasWritten?: boolean;
  /** The value whose read ran the schemas script ("dist/schemas/bus-file.js parseBusFile"): why the command needed it. */
  schemasBy?: string;
  /**
   * The loader's own code cache (cli/boot.ts), in the states of `cache` (unsafe, unavailable: the cache folders
   * cannot be used, and the loader was compiled as Node would); "off" with GITBUS_CODE_CACHE=0.
   */
  loader?: CodeCacheReport['cache'];
  /** A new cache file of the loader was written at exit. */
  loaderWritten?: boolean;
  /** The boot's code cache, made by the build (scripts/boot-cache.mjs), as bin/gitbus.js found it. */
  boot?: BootCacheState;
  /** The bundle's cold script (cli/cold-script-id.ts), when it has one: its state as `schemas`'s. */
  cold?: SchemasState;
  coldWritten?: boolean;
  /** The modules of the cold script whose values the command read, in that order: why it ran. */
  coldReads?: string[];
  /** Who read the command line (cli/plain-line.ts): "plain" without commander, "commander" otherwise. */
  line?: 'plain' | 'commander';
}

/** What the CommonJS bundle exports to the loader (cli/main-cjs.ts). */
interface BundleExports {
  /** True once a command's action started: a run that only printed help compiled too little to be cached. */
  commandRan?: () => boolean;
  /** Who read the command line, once it was read. */
  commandLine?: () => 'plain' | 'commander' | undefined;
  /** The modules the schemas script and the cold script take from the bundle (scripts/split-schemas.mjs). */
  sharedModules?: Record<string, () => unknown>;
}

/** Runs the CLI: the CommonJS bundle with its code cache, or the ES module build. `booted`: what the boot found (cli/boot.ts). */
export function runCli(booted: Booted): void {
  const here = import.meta.dirname;
  // `gitbus --home DIR status` runs status's bundle, and start() finds the line already in commander's order.
  process.argv.splice(2, Infinity, ...hoistGlobalOptions(process.argv.slice(2)));
  const args = process.argv.slice(2);
  const env = process.env;
  // A standby process of a watcher (cli/serve/standby.ts): the whole CLI, with a code cache of its own.
  if (env[STANDBY_ENV] === '1' && typeof process.send === 'function') return runEntry(here, env, STANDBY_ENTRY, booted);
  const entry = invokedCommand(args);
  if (entry === undefined) return runEntry(here, env, entry, booted);
  commandFound = true;
  // A command this home's watcher may run in its standby process: only Node and a socket start here. Only where the
  // command cannot start from its code cache here: with it, its own process ends sooner (ownProcessSooner).
  let sock: string | { reason: string };
  let home: string | null = null;
  try {
    const why = notServable(entry, args, env) ?? ownProcessSooner(env, startsFromCache(booted, env, entry.name));
    home = why === null ? homeOf(args, env) : null;
    sock = home !== null ? trustedSocket(home) : { reason: why ?? 'no home' };
  } catch (err) {
    // Serving is only ever a shortcut: whatever goes wrong deciding it, the command runs here.
    sock = { reason: String(err) };
  }
  // Nothing listens (or a server that is gone left its socket): commands back to back start `gitbus serve`.
  const unserved = (reason: string) => {
    if (home !== null && nothingListens(reason) && serverWanted(home, env)) serveAtExit(home, join(here, '../../bin/gitbus.js'), env);
  };
  if (typeof sock !== 'string') {
    serveReport(env, { command: entry.name, served: false, reason: sock.reason });
    unserved(sock.reason);
    return runEntry(here, env, entry, booted);
  }
  serveOrRun(
    sock,
    args,
    `${process.version}-${process.arch}-${booted.parts?.join('+') ?? buildIdentity(here)}`,
    (reason) => {
      serveReport(env, { command: entry.name, served: false, reason });
      unserved(reason);
      runEntry(here, env, entry, booted);
    },
    (pid) => serveReport(env, { command: entry.name, served: true, pid }),
  );
}

/** Whether runCli found a command to run (here or served): the boot keeps the loader's code cache of such a run. */
let commandFound = false;

export function ranCommand(): boolean {
  return commandFound;
}

/** What a standby process runs: gitbus.cjs, the whole CLI. */
const STANDBY_ENTRY: Pick<CommandEntry, 'name' | 'bundle'> = { name: 'standby' };

/** One line of GITBUS_SERVE_REPORT: whether a served command ran in a watcher's standby, and why not. */
export interface ServeReport {
  command: string;
  served: boolean;
  reason?: string;
  pid?: number;
}

function serveReport(env: NodeJS.ProcessEnv, r: ServeReport): void {
  report(env['GITBUS_SERVE_REPORT'], r);
}

/**
 * Whether the command's own process would start from a code cache (cli/serve/client.ts ownProcessSooner): the boot
 * found the cache folders usable for the loader's cache, which is in the key folder the command's is in, and the
 * command's cache file is there or may be written there (a sandbox's read-only key folder, made before, where the
 * command never ran: its own process would run the ES module build at every run).
 */
export function startsFromCache(booted: Booted, env: NodeJS.ProcessEnv, command: string): boolean {
  // No folders from the boot: GITBUS_CODE_CACHE=0, or a folder it could not use (runEntry then finds the same).
  if (booted.folders === undefined || booted.parts === undefined) return false;
  const place = cachePlace(booted.folders, booted.parts.join('+'), command, env);
  // Its cache file, readable; else a folder its first run may write it into.
  return allowed(place.file, constants.R_OK) || allowed(place.dir, constants.W_OK);
}

function allowed(path: string, mode: number): boolean {
  try {
    accessSync(path, mode);
    return true;
  } catch {
    return false;
  }
}

/** Runs the command here: the bundle with its code cache, or the ES module build. */
function runEntry(here: string, env: NodeJS.ProcessEnv, entry: Pick<CommandEntry, 'name' | 'bundle'> | undefined, booted: Booted): void {
  // No command to run (--help, a mistyped name, --version with more on the line): gitbus.mjs and commander, ~150 KB
  // of ES modules, start faster than the 2 MB bundle even from its cache (~4 ms less on Node 20 and 22).
  if (entry === undefined || env['GITBUS_CODE_CACHE'] === '0') return runEsm(booted, here, env, entry?.name ?? 'top', 'off');
  const command = entry.name;
  // A cache folder that cannot be used: without a cache the bundle starts slower than the ES module build (V8
  // compiles its 2 MB top level, and createCachedData() at every exit would find no place to go). Checked before
  // the bundle is read, so that this costs no more than the read of gitbus's two folders, which was done anyway.
  // The boot checked them already when it could use them for the loader's own cache.
  const folders = booted.folders ?? cacheFolders(env);
  if ('problem' in folders) return runEsm(booted, here, env, command, folders.problem.state, folders.problem.reason);
  const unusable = booted.folders === undefined ? readyFolders(folders, [folders.root, folders.keys]) : undefined;
  if (unusable) return runEsm(booted, here, env, command, unusable.state, unusable.reason);
  const bundle = join(here, bundleFile(entry));
  let read: { source: string; identity: string; room: Buffer };
  try {
    read = readBundle(bundle, here, booted.parts);
  } catch {
    // A build without the bundle (tsc alone): the ES module build.
    return runEsm(booted, here, env, command, 'off');
  }
  const place = cachePlace(folders, read.identity, command, env);
  const found = readCache(place, read.room);
  if (found.state === 'unsafe' || found.state === 'unavailable') return runEsm(booted, here, env, command, found.state, found.reason);
  // The bundle is written inside the CommonJS module wrapper (cli/cjs-wrapper.ts), so V8 gets the file's text as it is.
  // No importModuleDynamically: on Node 20 a function taken from the cache loses it (its import() then fails with
  // ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING), so the bundle holds no import() at all (scripts/bundle.mjs checks) and
  // one that crept in fails on the first run, not only once a cache exists.
  const source = wrappedSource(read.source);
  const { Script } = ownRequire('node:vm') as typeof import('node:vm');
  const script = new Script(source, {
    filename: bundle,
    ...(found.state === 'found' ? { cachedData: found.data } : {}),
  });
  const cache: CodeCacheReport['cache'] = found.state === 'found' ? (script.cachedDataRejected === true ? 'rejected' : 'accepted') : found.state;
  const module: { exports: BundleExports } = { exports: {} };
  // The schemas script (cli/schemas-script.ts), run when the command first reads one of its values.
  const schemas = schemasScript({ here, place: cachePlace(folders, read.identity, command, env, '.schemas'), base: ownRequire, shared: () => module.exports.sharedModules, Script });
  // The bundle's cold script, run the same way: the modules a plain run of the command never reads.
  const coldOf = entry.bundle !== undefined && COLD_BUNDLES.includes(entry.bundle) ? entry.bundle : undefined;
  const cold =
    coldOf === undefined
      ? undefined
      : schemasScript({ here, place: cachePlace(folders, read.identity, command, env, '.cold'), base: schemas.require, shared: () => module.exports.sharedModules, Script, file: coldFile(coldOf), prefix: COLD_PREFIX });
  // Where to report, as the process started: a standby's environment becomes its client's (cli/serve/standby.ts).
  const reportTo = env['GITBUS_CODE_CACHE_REPORT'];
  process.once('exit', (code) => {
    const failed = code !== 0;
    // A run that ran no command's action (`gitbus status --help`, `gitbus help status`) compiled commander and
    // little else: its cache would make the command start slower for good, so it writes none.
    const ran = module.exports.commandRan?.() === true;
    // A run that read its schemas or cold script took a path off the command's plain one (`dispatch --from`, the
    // first `status` after an install, which parses what it has not cached yet): its cache holds that path's
    // functions and lacks the plain path's, which each plain run would then compile (~1.4 ms of a `dispatch`). The
    // next plain run writes it again, once, with both (cli/code-cache-file.ts).
    const offPath = schemas.state() !== 'unused' || (cold !== undefined && cold.state() !== 'unused');
    const written = settleCache(place, found, cache === 'rejected', ran, { failed, offPath }, () => script.createCachedData());
    const schemasWritten = schemas.atExit(ran, failed);
    const coldWritten = cold?.atExit(ran, failed);
    report(reportTo, {
      command,
      cache,
      written,
      bundle: bundleFile(entry),
      file: place.file,
      schemas: schemas.state(),
      schemasWritten,
      ...loaderReport(booted),
      ...(schemas.firstRead() !== undefined ? { schemasBy: schemas.firstRead() } : {}),
      ...(cold !== undefined ? { cold: cold.state(), coldWritten, ...(cold.reads().length > 0 ? { coldReads: cold.reads() } : {}) } : {}),
      ...lineOf(module.exports),
    });
  });
  const wrapper = script.runInThisContext() as ModuleWrapper;
  wrapper(module.exports, (cold ?? schemas).require, module, bundle, here);
  // A bundle cut short or emptied by hand compiles and runs, and starts nothing: without this the command would end
  // at once, saying nothing, with exit 0, as if it had done its work.
  if (typeof module.exports.commandRan !== 'function') {
    writeSync(2, `gitbus: ${bundle} is damaged: it ran and started no command, so ${command} did nothing\n  fix: install gitbus again (or run "npm run build" in its folder)\n`);
    process.exitCode = EXIT.setup;
  }
}

/** The report's `line`, when the bundle read one. */
function lineOf(exports: BundleExports): Pick<CodeCacheReport, 'line'> {
  const line = exports.commandLine?.();
  return line !== undefined ? { line } : {};
}

function runEsm(booted: Booted, here: string, env: NodeJS.ProcessEnv, command: string, cache: CodeCacheReport['cache'], reason?: string): void {
  const to = env['GITBUS_CODE_CACHE_REPORT'];
  if (to) process.once('exit', () => report(to, { command, cache, written: false, ...(reason ? { reason } : {}), ...loaderReport(booted) }));
  // Through the boot's import(): the loader runs as a vm.Script, where import() has no loader to go to (Node 20).
  void booted.importModule(pathToFileURL(join(here, 'gitbus.mjs')).href);
}

/** What became of the loader's own code cache (cli/boot.ts), for a report line; `loaderWritten` is set at exit. */
function loaderReport(booted: Booted): Pick<CodeCacheReport, 'boot' | 'loader' | 'loaderWritten'> {
  return { ...(booted.boot !== undefined ? { boot: booted.boot } : {}), loader: booted.loader, ...(booted.loaderWritten !== undefined ? { loaderWritten: booted.loaderWritten } : {}) };
}

/**
 * The bundle's text (latin1: the build writes it in ASCII) and the identity of the build's bundles as files, the
 * one that runs taken from the open file so that text and identity are of the same file. A file's identity is its
 * size, modification and change times (nanoseconds) and inode: any write to it, a copy or a new install changes
 * the change time, which nobody can set back. It was the bundle's crc32, which cost ~6 M instructions (~2-4 ms)
 * per start to say the same. The other bundles are in it (one `stat` each) so that a build has one key folder,
 * which the pruning of other builds' folders counts on.
 */
export function readBundle(path: string, dir: string, before?: readonly string[]): { source: string; identity: string; room: Buffer } {
  // Room for the code cache too (cli/code-cache-store.ts readCache), which is read into the same memory once the
  // text is a string: memory a start touches first costs a page fault per 4 KiB (~14 us each on the development
  // machine), and reading the ~0.65 MB cache into memory of its own was ~165 of them (docs/PERFORMANCE.md "Fewer
  // scavenges and page faults"). Pages of it that no read reaches are never touched.
  const { text, st, room } = readText(path, CACHE_ROOM);
  return { source: text, identity: buildIdentity(dir, { path, st }, before), room };
}

/** The least room readBundle makes: the largest code cache a command writes is ~1.2 MB (gitbus-bus.cjs's `init`). */
const CACHE_ROOM = 2 * 1024 * 1024;

/** Appends one report line to `to` (GITBUS_CODE_CACHE_REPORT, GITBUS_SERVE_REPORT), when it is set. */
function report(to: string | undefined, r: CodeCacheReport | ServeReport): void {
  if (!to) return;
  try {
    appendFileSync(to, `${JSON.stringify(r)}\n`);
  } catch {
    // A report is for tests and for looking into a slow start; never a reason to fail.
  }
}
