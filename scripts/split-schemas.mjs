// The schemas script (issue 14): zod, yaml and the modules that build zod schemas when they load, bundled apart as
// dist/cli/gitbus-schemas.cjs, which cli/code-cache.ts runs the first time a command of a split bundle
// (gitbus-read.cjs, gitbus-claude.cjs: scripts/bundle.mjs SCHEMAS_APART) reads one of its values. A `status` whose
// caches are warm parses no file (docs/PERFORMANCE.md "A small bus parses no YAML") and so never reads,
// deserializes or initialises them: they were ~40 % of the bus bundle and ~20 ms of every start, most of it zod
// building ~1,000 schema objects (docs/PERFORMANCE.md "The schemas script").
//
// Which modules: those of schemas/ that import zod (schemas/zod.js or 'zod/...') or yaml, and those of schemas/
// that import one of them (they build their schemas from theirs). In a split bundle an import of one of them, or
// of 'yaml', becomes a stub whose values are getters: the first read of one loads the schemas script. Their
// imports of gitbus's other modules are the bundle's own (`sharedModules`), so that each module has one copy: one
// class of each error, one of each cache.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

// What a command bundle's stub requires, and what the schemas script requires for a module of the bundle's.
import { MAIN_PREFIX, STUB_PREFIX } from '../dist/cli/schemas-script-id.js';
import { COLD_PREFIX } from '../dist/cli/cold-script-id.js';
/** Packages that only the schemas script holds; their importers in a command bundle get a stub. */
export const LIBS = /^(yaml|zod)(\/|$)/;

/** Every .js file under dir, relative to the working folder (dist/bus/home.js). */
function jsFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...jsFiles(p));
    else if (name.endsWith('.js')) out.push(p);
  }
  return out;
}

/** The specifiers a compiled module imports at run time (tsc erases `import type`). */
export function importsOf(file) {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^(?:import|export)\s[^;]*?\sfrom\s+'([^']+)';|^import\s+'([^']+)';/gms)].map((m) => m[1] ?? m[2]);
}

/**
 * The modules of the schemas script, as paths relative to the working folder (dist/schemas/handoff.js), and the
 * packages (yaml) that modules outside it import, which it exports for their stubs.
 */
export function splitPlan(dist = 'dist') {
  const graph = new Map();
  for (const f of jsFiles(dist)) {
    // Only the build's own modules: tsc never removes what it wrote for a source since renamed or deleted, and such
    // a file, unlike in a bundle that follows imports from its entry, would be in the script (which imports the
    // whole set) or fail its build. tsconfig.json's rootDir is dist/'s parent.
    if (!existsSync(join(dirname(dist), relative(dist, f)).replace(/\.js$/, '.ts'))) continue;
    const specs = importsOf(f);
    graph.set(f, { bare: specs.filter((s) => LIBS.test(s)), deps: specs.filter((s) => s.startsWith('.')).map((s) => relative(process.cwd(), resolve(dirname(f), s))) });
  }
  const schemasDir = join(dist, 'schemas') + '/';
  const set = new Set();
  for (const [f, g] of graph) if (f.startsWith(schemasDir) && g.bare.length > 0) set.add(f);
  // A module of schemas/ that imports one of them builds its schemas from theirs when it loads.
  for (let grew = true; grew; ) {
    grew = false;
    for (const [f, g] of graph) {
      if (!set.has(f) && f.startsWith(schemasDir) && g.deps.some((d) => set.has(d))) {
        set.add(f);
        grew = true;
      }
    }
  }
  // Build scripts that no command imports.
  set.delete(join(dist, 'schemas/generate-json-schema.js'));
  const libs = new Set([...graph].filter(([f]) => !set.has(f)).flatMap(([, g]) => g.bare));
  return { set, libs: [...libs].sort() };
}

/** Whether `importer` is one of gitbus's own compiled modules (under `dist`, not a package's). */
export function inDist(importer, dist) {
  return relative(resolve(dist), importer).split(/[\\/]/)[0] !== '..' && !/[\\/]node_modules[\\/]/.test(importer);
}

/**
 * The plugin for the schemas script's build: every module of gitbus's outside the set is the command bundle's
 * (`gitbus:main:<path>`); `shared` collects them, which the command bundles' entry must export.
 */
export function schemasScriptPlugin(set, shared, dist = 'dist') {
  return {
    name: 'schemas-script',
    setup(b) {
      b.onResolve({ filter: /^\./ }, (args) => {
        if (!inDist(args.importer, dist)) return undefined;
        const target = relative(process.cwd(), resolve(args.resolveDir, args.path));
        if (set.has(target) || !target.startsWith(`${dist}/`)) return undefined;
        shared.add(target);
        return { path: `${MAIN_PREFIX}${target}`, external: true };
      });
    },
  };
}

/**
 * The schemas script's entry: a function per module, by its path (and per package, yaml, by its name), that
 * initialises the module on its first call (esbuild wraps a module that is `require()`d in a lazy initialiser):
 * a command builds the schemas of the modules it reads, not all of them.
 */
export function schemasScriptEntry(set, libs) {
  const mods = [...set].sort();
  const entries = [...mods.map((m) => [m, `./${m}`]), ...libs.map((l) => [l, l])];
  return `export const modules = {\n${entries.map(([key, spec]) => `  ${JSON.stringify(key)}: () => require(${JSON.stringify(spec)}),`).join('\n')}\n};\n`;
}

/**
 * The plugin for a command bundle: an import of a module of the set, or of yaml, from a module outside the set
 * becomes an external module, `gitbus:schemas:<key>`, which the loader's `require` answers with the module's stub (a
 * Proxy whose first read of a value runs the script, cli/schemas-script.ts). esbuild makes a named import of an
 * external a plain `require()`: no copy of the stub's values per importing module (its `__toESM` for a bundled
 * CommonJS stub), no stub module in the bundle. A namespace or default import, or a re-export of all of a stub
 * (`export * from`), would copy its keys as the bundle starts, and so run the script: the build refuses them
 * (scripts/bundle.mjs).
 */
export function stubPlugin(set, libs, cold = new Set(), dist = 'dist') {
  return {
    name: 'schemas-stubs',
    setup(b) {
      b.onResolve({ filter: /.*/ }, (args) => {
        if (args.kind === 'entry-point' || args.namespace !== 'file' || !inDist(args.importer, dist)) return undefined;
        const importer = relative(process.cwd(), args.importer);
        if (set.has(importer)) throw new Error(`${importer} is in the schemas script and in a command bundle`);
        let key;
        if (args.path.startsWith('.')) {
          const target = relative(process.cwd(), resolve(args.resolveDir, args.path));
          // A module of the bundle's cold script (scripts/split-cold.mjs): its stub, as a schema module's.
          if (cold.has(target)) return { path: `${COLD_PREFIX}${target}`, external: true };
          if (!set.has(target)) return undefined;
          key = target;
        } else if (LIBS.test(args.path)) {
          key = args.path;
          if (!libs.includes(key)) throw new Error(`${importer} imports ${key}, which scripts/split-schemas.mjs did not find`);
        } else return undefined;
        return { path: `${STUB_PREFIX}${key}`, external: true };
      });
    },
  };
}

/** The module that makes the command bundles' `sharedModules` (commandEntry). */
export const SHARED_MODULES_ID = 'gitbus:shared-modules';

/**
 * The command bundles' entry: the modules the schemas script takes from the bundle, then main-cjs.js's exports. In
 * that order: an entry's imports run in the order written, and main-cjs.js starts the command, which may read a
 * schema (and so ask for `sharedModules`) before it returns.
 */
export function commandEntry() {
  return [`export { sharedModules } from '${SHARED_MODULES_ID}';`, `export * from './dist/cli/main-cjs.js';`].join('\n');
}

/**
 * The plugin that makes SHARED_MODULES_ID: for each module the scripts take from the bundle, by its path, a function
 * that makes an object of getters of its exports (`names`) when a script first asks for it. Not the module's
 * namespace (`import * as`): esbuild makes a namespace object, with a getter a name, when the bundle starts, and the
 * ~70 modules a cold script takes made ~100 KB of allocations at every start (issue 14, session 43).
 */
export function sharedModulesPlugin(shared, names) {
  return {
    name: 'shared-modules',
    setup(b) {
      b.onResolve({ filter: /^gitbus:shared-modules$/ }, () => ({ path: SHARED_MODULES_ID, namespace: 'shared-modules' }));
      b.onLoad({ filter: /.*/, namespace: 'shared-modules' }, () => {
        const imports = [];
        const entries = [];
        [...shared].sort().forEach((m, i) => {
          const own = names.get(m);
          if (own === undefined) throw new Error(`the export names of ${m} are not known`);
          const odd = own.find((n) => !/^[A-Za-z_$][\w$]*$/.test(n));
          if (odd !== undefined) throw new Error(`${m} exports "${odd}", which is not a name: export it by a name`);
          if (own.length > 0) imports.push(`import { ${own.map((n, j) => `${n} as s${i}_${j}`).join(', ')} } from './${m}';`);
          entries.push(`  ${JSON.stringify(m)}: () => ({ ${own.map((n, j) => `get ${n}() { return s${i}_${j}; }`).join(', ')} }),`);
        });
        return { contents: [...imports, 'export const sharedModules = {', ...entries, '};'].join('\n'), resolveDir: process.cwd(), loader: 'js' };
      });
    },
  };
}

/** The names each of `files` exports (with those of its `export *`), by esbuild's reading of them: none is run. */
export async function exportNames(files, build) {
  if (files.length === 0) return new Map();
  const r = await build({ entryPoints: files, bundle: true, write: false, metafile: true, format: 'esm', outdir: 'export-names', platform: 'node', packages: 'external', splitting: true, logLevel: 'silent' });
  const out = new Map();
  for (const o of Object.values(r.metafile.outputs)) if (o.entryPoint !== undefined) out.set(o.entryPoint, o.exports);
  const missing = files.filter((f) => !out.has(f));
  if (missing.length) throw new Error(`esbuild found no exports for ${missing.join(', ')}`);
  return out;
}
