// A command bundle's cold script (cli/cold-script-id.ts, docs/ARCHITECTURE.md "How the CLI starts"): the modules of
// the bundle that a plain run of its command never reads, listed in scripts/cold/<bundle>.txt, bundled apart as
// dist/cli/gitbus-<bundle>-cold.cjs. In the bundle each import of one is an external module, `gitbus:cold:<path>`,
// whose stub the loader makes (cli/schemas-script.ts): the script runs on the first read of one of their values.
// A plain `dispatch` initialised 228 of its bundle's 276 modules and called functions of fewer than half of them:
// the rest was read from disk, deserialized from the code cache and initialised at every start (issue 14, session 43).
import { existsSync, readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { MAIN_PREFIX, STUB_PREFIX } from '../dist/cli/schemas-script-id.js';
import { LIBS, inDist } from './split-schemas.mjs';

/** The list of a bundle's cold modules: one path relative to the package a line (dist/bus/trust/chain.js); `#` comments. */
export function coldListFile(bundle) {
  return `scripts/cold/${bundle}.txt`;
}

/**
 * The cold modules of `bundle`, each checked: a module of the build (a source of it exists: a renamed or deleted one
 * would otherwise stay listed for nothing), not of the schemas script (`set`) and not one it takes from the bundle
 * (`shared`), which stay in the bundle.
 */
export function coldModules(bundle, set, shared) {
  const file = coldListFile(bundle);
  const lines = readFileSync(file, 'utf8').split('\n').map((l) => l.replace(/#.*/, '').trim()).filter((l) => l !== '');
  const problems = [];
  for (const m of lines) {
    if (!/^dist\/.+\.js$/.test(m) || !existsSync(m.replace(/^dist\//, '').replace(/\.js$/, '.ts'))) problems.push(`${m} is not a module of the build`);
    else if (set.has(m)) problems.push(`${m} is the schemas script's`);
    else if (shared.has(m)) problems.push(`${m} is taken from the bundle by the schemas script`);
  }
  if (problems.length) throw new Error(`${file}: ${problems.join('; ')}: remove the line, or list the modules again with npm run cold-modules`);
  return new Set(lines);
}

/**
 * The modules of `bundle`'s cold script that the runs of `commands` read, from their GITBUS_CODE_CACHE_REPORT lines
 * (scripts/cold-modules.mjs). Each of their lines must be a run of the bundle with its cold script: a run of the ES
 * module build (GITBUS_CODE_CACHE=0, a Node without zlib.crc32, a cache folder it cannot use) reads no cold script,
 * and counting it would keep cold what a plain run reads at every start.
 */
export function coldReadsOf(lines, bundle, commands) {
  const reads = new Set();
  let runs = 0;
  for (const line of lines) {
    const r = JSON.parse(line);
    if (!commands.includes(r.command)) continue;
    runs++;
    if (r.bundle !== `gitbus-${bundle}.cjs` || r.cold === undefined) {
      throw new Error(`a run did not run dist/cli/gitbus-${bundle}.cjs with its cold script, so it says nothing of what it reads: ${line}`);
    }
    for (const m of r.coldReads ?? []) reads.add(m);
  }
  if (runs === 0) throw new Error(`no run of ${commands.join(', ')} reported what it did`);
  return reads;
}

/**
 * The plugin for a cold script's build: its modules are bundled; an import of a module of the schemas script, or of
 * yaml, is that script's stub; any other module of gitbus's is the command bundle's (`gitbus:main:<path>`), which
 * `shared` collects: the bundle's `sharedModules` must have it.
 */
export function coldScriptPlugin(cold, set, shared, dist = 'dist') {
  return {
    name: 'cold-script',
    setup(b) {
      b.onResolve({ filter: /.*/ }, (args) => {
        if (args.kind === 'entry-point' || args.namespace !== 'file' || !inDist(args.importer, dist)) return undefined;
        if (args.path.startsWith('.')) {
          const target = relative(process.cwd(), resolve(args.resolveDir, args.path));
          if (!target.startsWith(`${dist}/`) || cold.has(target)) return undefined;
          if (set.has(target)) return { path: `${STUB_PREFIX}${target}`, external: true };
          shared.add(target);
          return { path: `${MAIN_PREFIX}${target}`, external: true };
        }
        if (LIBS.test(args.path)) return { path: `${STUB_PREFIX}${args.path}`, external: true };
        return undefined;
      });
    },
  };
}
