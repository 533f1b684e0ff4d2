import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Script as VmScript } from 'node:vm';
import { readCache, settleCache, type CachePlace, type Found } from './code-cache-store.js';
import { MAIN_PREFIX, SCHEMAS_FILE, STUB_PREFIX } from './schemas-script-id.js';
import { EXIT } from './exit.js';

/**
 * The schemas script (issue 14): zod, yaml and the modules of schemas/ that build zod schemas as they load, which
 * scripts/split-schemas.mjs bundles apart as dist/cli/gitbus-schemas.cjs. In the bundles of status, show, dispatch
 * and the hooks (gitbus-read.cjs, gitbus-dispatch.cjs, gitbus-claude.cjs) each import of them is a stub (a Proxy); the
 * first read of a value runs the script, with a code cache of its own per command (`<command>.schemas.bin` beside
 * the bundle's). A command whose caches are warm (a second `status` on a small bus) parses nothing and so never pays
 * for them: ~40 % of the bus bundle, and ~20 ms of every start spent building zod's schema objects
 * (docs/PERFORMANCE.md "The schemas script").
 *
 * A bundle's cold script (cli/cold-script-id.ts, scripts/split-cold.mjs) is run the same way, with `file` and
 * `prefix` of its own: the modules a plain run of the bundle's command never reads (`<command>.cold.bin`).
 */

/**
 * unused: the command never read a value of the script; the others as the bundle's cache (none, accepted,
 * rejected, corrupt; unsafe and unavailable: its cache was not read, the script compiled from its source).
 */
export type SchemasState = 'unused' | 'none' | 'accepted' | 'rejected' | 'corrupt' | 'unsafe' | 'unavailable';

export interface SchemasScript {
  /** The require the command bundle runs with: the stubs (STUB_PREFIX, or `prefix`), else `base`. */
  require: NodeJS.Require;
  state(): SchemasState;
  /** The value whose read ran the script ("dist/schemas/bus-file.js parseBusFile"), for the report. */
  firstRead(): string | undefined;
  /** The modules whose values the command read, in the order of their first read (scripts/cold-modules.mjs). */
  reads(): string[];
  /** At exit: writes the script's cache when it ran and its cache is due (`ran`: a command's action ran). */
  atExit(ran: boolean, failed: boolean): boolean;
}

interface Options {
  /** dist/cli/ */
  here: string;
  place: CachePlace;
  /** What the script's other requires go to: Node's require for the bundles' folder (a cold script: the schemas script's). */
  base: NodeJS.Require;
  /**
   * The command bundle's `sharedModules` (scripts/split-schemas.mjs): for each module of the bundle's that the
   * script imports, a function that makes an object of its exports.
   */
  shared: () => Record<string, () => unknown> | undefined;
  Script: typeof VmScript;
  /** The script's file in dist/cli/ and what the bundle requires for its modules; the schemas script's by default. */
  file?: string;
  prefix?: string;
}

/** The script's table: a function per module that initialises it on its first call and returns its exports. */
type Modules = Record<string, () => Record<string, unknown>>;

export function schemasScript(o: Options): SchemasScript {
  let modules: Modules | undefined;
  let state: SchemasState = 'unused';
  let script: VmScript | undefined;
  let found: Found | undefined;
  let firstRead: string | undefined;
  const reads: string[] = [];
  const name = o.file ?? SCHEMAS_FILE;
  const prefix = o.prefix ?? STUB_PREFIX;

  const load = (): Modules => {
    if (modules !== undefined) return modules;
    const file = join(o.here, name);
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
    const made = new Map<string, unknown>();
    const req = withBase((id: string) => {
      if (!id.startsWith(MAIN_PREFIX)) return o.base(id);
      const key = id.slice(MAIN_PREFIX.length);
      if (made.has(key)) return made.get(key);
      // Looked up at each first require, not when the script loads: a script that ran while the bundle was still
      // starting (before its entry exported them) gets them for its later modules.
      const make = o.shared()?.[key];
      if (make === undefined) throw new Error(`${name} needs ${key}, which the command's bundle does not export`);
      const mod = make();
      made.set(key, mod);
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
      reads.push(key);
      const init = load()[key];
      mod = init === undefined ? broken(`${name} lacks ${key}`) : init();
      return mod;
    };
    const read = (prop: string): Record<string, unknown> => {
      firstRead ??= `${key} ${prop}`;
      return get();
    };
    // The module's keys as well, for what copies them: an import() of the module (esbuild's __toESM of the stub,
    // when the import() runs) gets its values. A namespace import or `export *` would do so at the bundle's start,
    // which the build refuses (scripts/bundle.mjs).
    const proxy = new Proxy(Object.create(null) as Record<string, unknown>, {
      get: (_target, prop) => (typeof prop === 'string' ? read(prop)[prop] : undefined),
      has: (_target, prop) => typeof prop === 'string' && prop in read(prop),
      ownKeys: () => Reflect.ownKeys(read('(its keys)')),
      getOwnPropertyDescriptor: (_target, prop) => {
        if (typeof prop !== 'string') return undefined;
        const mod = read(prop);
        // Configurable: a proxy may report a property its target lacks only so.
        return Object.prototype.hasOwnProperty.call(mod, prop) ? { value: mod[prop], writable: false, enumerable: true, configurable: true } : undefined;
      },
    });
    stubs.set(key, proxy);
    return proxy;
  };

  return {
    require: withBase((id: string) => (id.startsWith(prefix) ? stub(id.slice(prefix.length)) : o.base(id)), o.base),
    state: () => state,
    firstRead: () => firstRead,
    reads: () => reads,
    atExit(ran, failed) {
      if (script === undefined || found === undefined) return false;
      const ranScript = script;
      return settleCache(o.place, found, state === 'rejected', ran, { failed }, () => ranScript.createCachedData());
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
