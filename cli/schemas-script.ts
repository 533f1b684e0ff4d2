import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Script as VmScript } from 'node:vm';
import { readCache, settleCache, type CachePlace, type Found } from './code-cache-store.js';
import { MAIN_PREFIX, SCHEMAS_FILE, STUB_PREFIX } from './schemas-script-id.js';
import { EXIT } from './exit.js';

/**
 * The schemas script (issue 14): zod, yaml and the modules of schemas/ that build zod schemas as they load, which
 * scripts/split-schemas.mjs bundles apart as dist/cli/gitbus-schemas.cjs. In the bundles of status, show and the
 * hooks (gitbus-read.cjs, gitbus-claude.cjs) each import of them is a stub (a Proxy); the first read of a value runs the script, with a
 * code cache of its own per command (`<command>.schemas.bin` beside the bundle's). A command whose caches are warm
 * (a second `status` on a small bus) parses nothing and so never pays for them: ~40 % of the bus bundle, and ~20 ms
 * of every start spent building zod's schema objects (docs/PERFORMANCE.md "The schemas script").
 */

/**
 * unused: the command never read a value of the script; the others as the bundle's cache (none, accepted,
 * rejected, corrupt; unsafe and unavailable: its cache was not read, the script compiled from its source).
 */
export type SchemasState = 'unused' | 'none' | 'accepted' | 'rejected' | 'corrupt' | 'unsafe' | 'unavailable';

export interface SchemasScript {
  /** The require the command bundle runs with: the stubs (STUB_PREFIX), else Node's. */
  require: NodeJS.Require;
  state(): SchemasState;
  /** The value whose read ran the script ("dist/schemas/bus-file.js parseBusFile"), for the report. */
  firstRead(): string | undefined;
  /** At exit: writes the script's cache when it ran and its cache is due (`ran`: a command's action ran). */
  atExit(ran: boolean, failed: boolean): boolean;
}

interface Options {
  /** dist/cli/ */
  here: string;
  place: CachePlace;
  /** Node's require for the bundles' folder. */
  base: NodeJS.Require;
  /** The command bundle's `sharedModules` (scripts/split-schemas.mjs): the script's imports of its modules. */
  shared: () => Record<string, unknown> | undefined;
  Script: typeof VmScript;
}

/** The script's table: a function per module that initialises it on its first call and returns its exports. */
type Modules = Record<string, () => Record<string, unknown>>;

export function schemasScript(o: Options): SchemasScript {
  let modules: Modules | undefined;
  let state: SchemasState = 'unused';
  let script: VmScript | undefined;
  let found: Found | undefined;
  let firstRead: string | undefined;

  const load = (): Modules => {
    if (modules !== undefined) return modules;
    const file = join(o.here, SCHEMAS_FILE);
    let source: string;
    try {
      source = readFileSync(file, 'latin1');
    } catch (err) {
      return broken(`${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    found = readCache(o.place);
    try {
      script = new o.Script(source, { filename: file, ...(found.state === 'found' ? { cachedData: found.data } : {}) });
    } catch (err) {
      // A file cut short or damaged: its SyntaxError would otherwise reach the command as a problem of the file
      // it was parsing ("node.yaml: not valid YAML").
      return broken(`${file} cannot be compiled (${(err as Error).message})`);
    }
    state = found.state === 'found' ? (script.cachedDataRejected === true ? 'rejected' : 'accepted') : found.state;
    const shared = o.shared() ?? {};
    const req = withBase((id: string) => {
      if (!id.startsWith(MAIN_PREFIX)) return o.base(id);
      const mod = shared[id.slice(MAIN_PREFIX.length)];
      if (mod === undefined) throw new Error(`${SCHEMAS_FILE} needs ${id.slice(MAIN_PREFIX.length)}, which the command's bundle does not export`);
      return mod;
    }, o.base);
    const module: { exports: { modules?: Modules } } = { exports: {} };
    try {
      const wrapper = script.runInThisContext() as (exports: unknown, require: NodeJS.Require, module: unknown, filename: string, dirname: string) => void;
      wrapper(module.exports, req, module, file, o.here);
    } catch (err) {
      return broken(`${file} failed to run (${(err as Error).message})`);
    }
    modules = module.exports.modules ?? {};
    return modules;
  };

  /**
   * A module's stand-in, one per module: a Proxy whose first read of a value runs the script and initialises the
   * module (its schemas built then). The bundle requires it as an external module (`gitbus:schemas:<key>`,
   * scripts/split-schemas.mjs) and reads its values by name, as it reads any module's: no copy of them is made.
   */
  const stubs = new Map<string, Record<string, unknown>>();
  const stub = (key: string): Record<string, unknown> => {
    const made = stubs.get(key);
    if (made !== undefined) return made;
    let mod: Record<string, unknown> | undefined;
    const get = (): Record<string, unknown> => {
      if (mod !== undefined) return mod;
      const init = load()[key];
      mod = init === undefined ? broken(`${SCHEMAS_FILE} lacks ${key}`) : init();
      return mod;
    };
    const proxy = new Proxy(Object.create(null) as Record<string, unknown>, {
      get: (_target, name) => {
        if (typeof name !== 'string') return undefined;
        firstRead ??= `${key} ${name}`;
        return get()[name];
      },
    });
    stubs.set(key, proxy);
    return proxy;
  };

  return {
    require: withBase((id: string) => (id.startsWith(STUB_PREFIX) ? stub(id.slice(STUB_PREFIX.length)) : o.base(id)), o.base),
    state: () => state,
    firstRead: () => firstRead,
    atExit(ran, failed) {
      if (script === undefined || found === undefined) return false;
      const ranScript = script;
      return settleCache(o.place, found, state === 'rejected', ran, failed, () => ranScript.createCachedData());
    },
  };
}

/**
 * A schemas script that cannot be read or run is a broken install, not a problem of the command's input: the read
 * happens inside the command's own code, often in a `try` around a parse that would report it as a bad file
 * ("not valid YAML"). So the process ends here, saying what is wrong and what to do.
 */
function broken(why: string): never {
  process.stderr.write(`gitbus: ${why}: the install is incomplete or damaged; install gitbus again (npm install -g gitbus), or run with GITBUS_CODE_CACHE=0\n`);
  process.exit(EXIT.setup);
}

/** `fn` with Node's require's own properties (resolve, cache, main, extensions), which bundled code may use. */
function withBase(fn: (id: string) => unknown, base: NodeJS.Require): NodeJS.Require {
  return Object.assign(fn, { resolve: base.resolve, cache: base.cache, main: base.main, extensions: base.extensions }) as NodeJS.Require;
}
