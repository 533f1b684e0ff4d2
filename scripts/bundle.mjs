// Bundles the compiled CLI, twice, in dist/cli/ (docs/ARCHITECTURE.md "How the CLI starts"):
// - ES modules: gitbus.mjs (commander, the command table, the error path) and one chunk per command plus the
//   chunks they share, which main.ts imports only for the command that runs. Loading ~60 modules (isomorphic-git's
//   CJS dependencies above all) cost ~0.3 s per command on Node 20, and one file of everything still ~0.2 s, most
//   of it V8 compiling code the command never runs (docs/PERFORMANCE.md "Start-up").
// - CommonJS: gitbus.cjs, the whole CLI in one file, which cli/code-cache.ts (bundled as gitbus-loader.cjs, what
//   bin/gitbus.js runs) compiles with a V8 code cache: one script, so one cache per command. Its command modules are
//   initialised on first use as in the ES build; the packages that only some commands load stay in node_modules.
//   And gitbus-<bundle>.cjs for each `bundle` that rows of the command table name (gitbus-bus.cjs: the short bus
//   commands), the same with only those commands' modules: less to read, hold and run at their every start.
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { build } from 'esbuild';
import ts from 'typescript';
import { commandEntry, exportNames, schemasScriptEntry, schemasScriptPlugin, sharedModulesPlugin, splitPlan, stubPlugin } from './split-schemas.mjs';
import { coldModules, coldScriptPlugin } from './split-cold.mjs';
import { COLD_BUNDLES, coldFile } from '../dist/cli/cold-script-id.js';

const outdir = 'dist/cli';
// What dist/cli/gitbus.cjs starts and ends with: the loader (cli/code-cache.ts) runs a file that starts so as it is.
const CJS_WRAPPER_START = '(function (exports, require, module, __filename, __dirname) {';
const CJS_WRAPPER_END = '})';
// Chunk names carry a hash: those of an earlier build would pile up. tsc writes only .js files here.
for (const f of readdirSync(outdir)) if (f.endsWith('.mjs') || f.endsWith('.cjs')) rmSync(join(outdir, f));

// zod's 60 translations of its messages are half of zod (~360 KB that every bus command compiled). gitbus builds
// its schemas with zod/mini, which sets no locale: schemas/zod.ts configures English from its own module
// (zod/v4/locales/en.js), and nothing uses z.locales, whose index (imported by zod/mini's exports all the same)
// is made to hold English only (both checked below).
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(b) {
    // The module's name (esbuild writes it into the bundle, as a comment and as the key of its lazy initialiser)
    // is relative to the package, never the build folder's absolute path: the bundle, and so the code cache's key
    // (cli/code-cache.ts), are then the same wherever it is built.
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]node_modules[\\/]zod[\\/]/.test(args.importer) ? { path: relative(process.cwd(), join(dirname(args.importer), args.path)), namespace: 'zod-locales' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({ contents: `export { default as en } from './en.js';`, resolveDir: dirname(resolve(args.path)) }));
  },
};

// yaml's "node" export is CommonJS: bundled, all of it sits behind a require() wrapper whatever is used. Its ES
// module build (the package's "default" export, the same code; browser/dist/index.js, not browser/index.js, whose
// default export of the whole namespace would keep everything) is tree-shaken: 195 KB instead of 257 KB. The one
// difference: a YAML warning goes to console.warn, not process.emitWarning (both stderr; gitbus's own reader of
// bus files sets logLevel 'error').
const yamlAsModule = {
  name: 'yaml-as-module',
  setup(b) {
    const yamlDir = dirname(createRequire(import.meta.url).resolve('yaml/package.json'));
    b.onResolve({ filter: /^yaml$/ }, () => ({ path: join(yamlDir, 'browser/dist/index.js') }));
  },
};

// commander requires node:child_process at load, for executable subcommands, which gitbus has none of: loading it
// (with net, dgram and their streams) cost every command ~16 M instructions. commander's require gets a module
// that loads it when spawn is called (docs/PERFORMANCE.md "Node's own modules (issue 14, session 10)").
const commanderLazyChildProcess = {
  name: 'commander-lazy-child-process',
  setup(b) {
    b.onResolve({ filter: /^(node:)?child_process$/ }, (args) => (/[\\/]node_modules[\\/]commander[\\/]/.test(args.importer) ? { path: 'child_process', namespace: 'lazy-child-process' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'lazy-child-process' }, () => ({
      contents: "let cp; module.exports = { spawn: (...args) => (cp ??= require('node:child_process')).spawn(...args) };",
      loader: 'js',
    }));
  },
};

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  // Pure ASCII output (issue 14): V8 keeps a source with any other character as UTF-16. Measured on Node 20 it
  // hardly matters, but it costs nothing. esbuild escapes strings and identifiers; the rest is escaped below.
  charset: 'ascii',
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
  // isomorphic-git's SHA-1 through node:crypto, not sha.js and its polyfill packages (scripts/sha1-node.cjs).
  alias: { 'sha.js/sha1.js': './scripts/sha1-node.cjs' },
};

const result = await build({
  ...common,
  entryPoints: [{ in: 'dist/cli/main.js', out: 'gitbus' }],
  outdir,
  // Chunks sit beside gitbus.mjs: modules find package.json and the package's assets from their own place.
  chunkNames: 'gitbus-[name]-[hash]',
  outExtension: { '.js': '.mjs' },
  splitting: true,
  format: 'esm',
  plugins: [zodEnglishOnly, yamlAsModule, commanderLazyChildProcess],
  // cron (and luxon) load on first use from node_modules (bus/model/cron-lib.ts): kept out of the bundle so that
  // the watcher's timer (watcher/watch.ts imports it) and a schedule's due time share one copy.
  external: ['cron'],
  // Bundled CommonJS dependencies call require() for Node's built-ins; every chunk may hold some.
  banner: { js: "import { createRequire as __gitbusRequire } from 'node:module'; const require = __gitbusRequire(import.meta.url);" },
});

// What import.meta.url, filename and dirname are in the CommonJS bundles (scripts/import-meta.mjs).
const importMetaUrl = {
  define: { 'import.meta.url': '__gitbusImportMeta.url', 'import.meta.filename': '__gitbusImportMeta.filename', 'import.meta.dirname': '__gitbusImportMeta.dirname' },
  inject: ['scripts/import-meta.mjs'],
};

// What a CommonJS bundle's modules take from it rather than make at every start (issue 14, docs/PERFORMANCE.md "The
// loader's and the bundle's own start"): schemas/own-require.ts is the bundle's own require (the one its wrapper is
// given, in dist/cli/ as every module of gitbus's is in its package), not one made by node:module's createRequire
// from the bundle's file URL; and bus/version.ts is the version in package.json at build time, not a read of it.
const version = JSON.parse(readFileSync('package.json', 'utf8')).version;
const builtIn = {
  name: 'built-in',
  setup(b) {
    b.onLoad({ namespace: 'file', filter: /[\\/]dist[\\/]schemas[\\/]own-require\.js$/ }, () => ({ contents: 'export const ownRequire = require;', loader: 'js' }));
    b.onLoad({ namespace: 'file', filter: /[\\/]dist[\\/]bus[\\/]version\.js$/ }, () => ({ contents: `export const GITBUS_VERSION = ${JSON.stringify(version)};`, loader: 'js' }));
  },
};

// The CommonJS bundles and the loader, which every command's start reads, without indentation, line breaks and
// comments: the bus bundle is 27 % smaller (1.67 -> 1.23 MB), and every start reads it and hands V8 a copy as a
// string, ~220 page faults fewer (issue 14, session 36). Names stay as written (error classes and stack traces keep
// theirs; minifying names too was slower, session 7). The ES module build keeps its "// dist/..." lines, by which
// test/e2e/cli-startup.test.ts tells what a command loaded.
// Lines of at most ~400 characters rather than one per module: Node prints the whole source line of an uncaught
// error's place to stderr, and lines of 100 KB there hid the error's message behind a pipe's 64 KB (found in review).
const lean = { minifyWhitespace: true, lineLimit: 400 };

// The rows of the command table that name a bundle run from it (cli/code-cache.ts picks the file); in that bundle
// the table's other rows load a module that says so, so that none of their code is in it. The loader never runs a
// bundle for a command it does not hold: it finds the command from the same command line as the bundle does.
const { COMMANDS } = await import('../dist/cli/command-table.js');
// The bundles the boot and the build's identity know by name (cli/bundle-names.ts): those the table names.
const { COMMAND_BUNDLES } = await import('../dist/cli/bundle-names.js');
const named = [...new Set(COMMANDS.flatMap((c) => (c.bundle ? [c.bundle] : [])))].sort();
if (named.join() !== [...COMMAND_BUNDLES].sort().join()) throw new Error(`cli/bundle-names.ts COMMAND_BUNDLES (${COMMAND_BUNDLES.join(', ')}) are not the bundles the command table names (${named.join(', ')})`);
const onlyBundle = (bundle) => ({
  name: 'only-bundle',
  setup(b) {
    b.onResolve({ filter: /^\.\/commands\/[a-z-]+\.js$/ }, (args) => {
      if (!/[\\/]cli[\\/]command-table\.js$/.test(args.importer)) return undefined;
      const row = COMMANDS.find((c) => `./commands/${c.name}.js` === args.path);
      // One module for all of them (the same path): a module per command was 35 namespaces, lazy initialisers and
      // functions that every start of the bundle made (docs/PERFORMANCE.md "Fewer scavenges and page faults").
      return row?.bundle === bundle ? undefined : { path: 'commands-not-here', namespace: 'other-bundle' };
    });
    b.onLoad({ filter: /.*/, namespace: 'other-bundle' }, () => ({
      contents: `export function register() { throw new Error(\`gitbus: the command of "gitbus \${process.argv.slice(2).join(' ')}" is not in dist/cli/gitbus-${bundle}.cjs, which cli/code-cache.ts ran for it; this is a bug in gitbus\`); }`,
      loader: 'js',
    }));
  },
});
// What the CommonJS bundles share: the CommonJS module wrapper (banner and footer), so that the loader hands V8
// the file's text as it is: wrapping it at run time made a second string that V8 flattened, a 2 MB copy and ~800
// page faults more on every start (docs/PERFORMANCE.md, issue 14 session 10). Its value is that function; run alone
// with node it does nothing.
const cjsCommon = {
  ...common,
  ...importMetaUrl,
  ...lean,
  format: 'cjs',
  banner: { js: CJS_WRAPPER_START },
  footer: { js: CJS_WRAPPER_END },
  // Loaded from node_modules on first use, as from the ES build's lazy chunks: the packages that only some
  // commands need, so that a command never compiles them with the bundle. Imported or import()ed, each becomes a
  // require(), which loads the ES-only ones (chokidar) too on Node >= 20.19.
  external: ['cron', 'isomorphic-git', 'ssh2', '@modelcontextprotocol/sdk', 'chokidar'],
  // No import() in the bundle: in a function that V8 took from the code cache, import() fails on Node 20 (the
  // script's host-defined options, which tell Node how to import, are not restored with the cached code:
  // ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING). gitbus's own import()s are inlined anyway (each module is
  // initialised on first use); what is left, import('isomorphic-git'), becomes Promise.resolve().then(require).
  supported: { 'dynamic-import': false },
};

// The schemas script (scripts/split-schemas.mjs): zod, yaml and the modules that build schemas as they load, which
// a command runs only when it reads one of their values. Built first: its imports of the other modules of gitbus's
// are the command bundles' (`shared`), which their entry exports.
const plan = splitPlan();
const shared = new Set();
const schemasScript = await build({
  ...cjsCommon,
  stdin: { contents: schemasScriptEntry(plan.set, plan.libs), resolveDir: process.cwd(), sourcefile: 'schemas-script-entry.js', loader: 'js' },
  outfile: join(outdir, 'gitbus-schemas.cjs'),
  plugins: [builtIn, schemasScriptPlugin(plan.set, shared), zodEnglishOnly, yamlAsModule],
});
// What the script takes from a command bundle is of schemas/ (which imports nothing outside it), so none of it
// imports the script's modules back: its first read of a value can never ask for the script again.
const outside = [...shared].filter((m) => !m.startsWith('dist/schemas/'));
if (outside.length) throw new Error(`the schemas script imports ${outside.join(', ')}, outside schemas/: a module of schemas/ imports another layer`);
const schemasPackages = packagesOf(schemasScript);

// The bundles whose commands often parse nothing (a warm `status`, the hooks, a `dispatch` of a plain handoff, which
// schemas/handoff-fast.ts writes and checks): zod, yaml and the schemas stay out of them, in the schemas script. The
// others (`bus`: the other commands that write a bus file; gitbus.cjs: the watcher and everything else) use them at
// every run, and hold them: a second script and its cache would cost them ~4-10 % (docs/PERFORMANCE.md "The schemas
// script", "A dispatch without zod or yaml").
const SCHEMAS_APART = new Set(['read', 'dispatch', 'claude']);
// A cold script takes modules from its bundle as the schemas script does, through the bundle's `sharedModules`.
for (const b of COLD_BUNDLES) if (!SCHEMAS_APART.has(b)) throw new Error(`cli/cold-script-id.ts: the bundle ${b} has a cold script and holds the schemas: only a bundle in SCHEMAS_APART can have one`);
const cjsBuilds = [schemasScript];
for (const bundle of [undefined, ...COMMAND_BUNDLES]) {
  const apart = SCHEMAS_APART.has(bundle);
  // The bundle's cold script (scripts/split-cold.mjs), built first: the modules it takes from the bundle are the
  // bundle's `sharedModules` as well.
  const cold = COLD_BUNDLES.includes(bundle) ? coldModules(bundle, plan.set, shared) : new Set();
  const coldShared = new Set();
  let coldPackages = [];
  if (cold.size > 0) {
    const coldScript = await build({
      ...cjsCommon,
      stdin: { contents: schemasScriptEntry(cold, []), resolveDir: process.cwd(), sourcefile: 'cold-script-entry.js', loader: 'js' },
      outfile: join(outdir, coldFile(bundle)),
      plugins: [builtIn, coldScriptPlugin(cold, plan.set, coldShared), zodEnglishOnly, yamlAsModule, commanderLazyChildProcess],
    });
    noImportCalls(coldScript);
    coldPackages = packagesOf(coldScript);
    const both = coldPackages.filter((p) => schemasPackages.includes(p));
    if (both.length) throw new Error(`${coldFile(bundle)} and the schemas script both hold ${both.join(', ')}`);
    cjsBuilds.push(coldScript);
  }
  const sharedHere = new Set([...shared, ...coldShared]);
  const cjs = await build({
    ...cjsCommon,
    ...(apart ? { stdin: { contents: commandEntry(), resolveDir: process.cwd(), sourcefile: 'command-bundle-entry.js', loader: 'js' } } : { entryPoints: ['dist/cli/main-cjs.js'] }),
    outfile: join(outdir, bundle ? `gitbus-${bundle}.cjs` : 'gitbus.cjs'),
    plugins: [builtIn, ...(bundle ? [onlyBundle(bundle)] : []), ...(apart ? [stubPlugin(plan.set, plan.libs, cold), sharedModulesPlugin(sharedHere, await exportNames([...sharedHere], build))] : []), zodEnglishOnly, yamlAsModule, commanderLazyChildProcess],
  });
  noImportCalls(cjs);
  if (apart) {
    // A stub (cli/schemas-script.ts) runs its script when its keys are copied: a namespace import or `export * from`
    // of one would do so as the bundle starts. An import() of one (`Promise.resolve().then(() => __toESM(require(..)))`
    // in the bundle) copies them when it runs, and may.
    const text = readFileSync(Object.keys(cjs.metafile.outputs)[0], 'latin1');
    const copied = /(?<!Promise\.resolve\(\)\.then\(\(\)=>)(__toESM|__reExport)\([^()]*require\("gitbus:(schemas|cold):[^"]*"\)/.exec(text);
    if (copied) throw new Error(`${Object.keys(cjs.metafile.outputs).join(', ')}: ${copied[0]}: import a module of the ${copied[2]} script by name (import { x } from ...), not as a namespace, a default or export *`);
    for (const f of Object.keys(cjs.metafile.inputs)) if (/[\\/]node_modules[\\/](zod|yaml)[\\/]/.test(f) || plan.set.has(f)) throw new Error(`${Object.keys(cjs.metafile.outputs).join(', ')} holds ${f}, which is the schemas script's (scripts/split-schemas.mjs)`);
    for (const f of Object.keys(cjs.metafile.inputs)) if (cold.has(f)) throw new Error(`${Object.keys(cjs.metafile.outputs).join(', ')} holds ${f}, which is its cold script's (scripts/split-cold.mjs)`);
    // A package in both would be two copies, each with its own state and classes.
    const both = packagesOf(cjs).filter((p) => schemasPackages.includes(p) || coldPackages.includes(p));
    if (both.length) throw new Error(`${Object.keys(cjs.metafile.outputs).join(', ')} and the schemas or its cold script both hold ${both.join(', ')}`);
  }
  const missing = COMMANDS.filter((c) => (bundle === undefined || c.bundle === bundle) && !cjs.metafile.inputs[`dist/cli/commands/${c.name}.js`]).map((c) => c.name);
  if (missing.length) throw new Error(`${Object.keys(cjs.metafile.outputs).join(', ')} lacks the modules of ${missing.join(', ')}`);
  cjsBuilds.push(cjs);
}

// A CommonJS file of its own in dist/cli/ from one entry: the loader and the boot.
const entryBuild = (entry, out, more) => build({ ...common, ...importMetaUrl, ...lean, entryPoints: [{ in: entry, out }], outdir, outExtension: { '.js': '.cjs' }, format: 'cjs', ...more });
// The loader: what the boot runs, with its code cache (cli/boot.ts), inside the CommonJS module wrapper as the
// bundles are. It finds the command from the command table, whose modules it never loads (their import() stays in
// the file, never called).
const loader = await entryBuild('dist/cli/loader.js', 'gitbus-loader', {
  banner: { js: CJS_WRAPPER_START },
  footer: { js: CJS_WRAPPER_END },
  plugins: [builtIn, { name: 'commands-outside', setup: (b) => b.onResolve({ filter: /^\.\/commands\// }, (args) => ({ path: args.path, external: true })) }],
});
// The boot: what bin/gitbus.js compiles, with the code cache scripts/boot-cache.mjs makes for it after this build, inside
// the CommonJS module wrapper as the loader is; the one file of gitbus's that Node compiles at every start where
// that cache is not (another Node).
const boot = await entryBuild('dist/cli/boot-main.js', 'gitbus-boot', { banner: { js: CJS_WRAPPER_START }, footer: { js: CJS_WRAPPER_END }, plugins: [builtIn] });
const bootBytes = outputBytes(boot);
if (bootBytes > 16_000) throw new Error(`dist/cli/gitbus-boot.cjs is ${bootBytes} bytes: it should hold the boot, the cache folders' checks and the cache's read only (Node compiles it where its cache is not)`);
const outputs = [result, ...cjsBuilds, loader, boot].flatMap((r) => Object.keys(r.metafile.outputs));
// The modules each CommonJS bundle holds and those of the schemas script's or that it takes from a bundle, which stay
// where they are: for scripts/cold-modules.mjs.
if (process.env.GITBUS_BUILD_INPUTS) {
  const bundles = Object.fromEntries(cjsBuilds.map((r) => [Object.keys(r.metafile.outputs)[0], Object.keys(r.metafile.inputs)]));
  writeFileSync(process.env.GITBUS_BUILD_INPUTS, JSON.stringify({ bundles, schemas: [...plan.set, ...shared] }));
}
const loaderBytes = outputBytes(loader);
if (loaderBytes > 47_000) throw new Error(`dist/cli/gitbus-loader.cjs is ${loaderBytes} bytes: it should hold the loader and the command table only`);

// `z.locales.fr()`, or `import { locales } from 'zod'`, anywhere in the bundle (zod's own files aside).
const usesLocales = /\.locales\b|\{[^}]*\blocales\b[^}]*\}\s*from\s*['"]zod/;
const localeUsers = inputsOf([result, ...cjsBuilds]).filter((f) => !/node_modules[\\/]zod[\\/]|^zod-locales:|^lazy-child-process:|^other-bundle:|^shared-modules:|^<stdin>$|-entry\.js$/.test(f) && usesLocales.test(readFileSync(f, 'utf8')));
if (localeUsers.length) throw new Error(`${localeUsers.join(', ')} may use zod's locales, which scripts/bundle.mjs leaves out: bundle them again`);
// zod/mini everywhere (schemas/zod.ts): classic zod in the CommonJS bundle would be read and compiled by every
// command. (The ES build bundles the MCP SDK, which brings classic zod and zod 3 for `gitbus mcp` only.) And
// only the English locale, which schemas/zod.ts configures.
const classicZod = inputsOf(cjsBuilds).filter((f) => /node_modules[\\/]zod[\\/](v4[\\/]classic|v3)[\\/]/.test(f));
if (classicZod.length) throw new Error(`a CommonJS bundle holds classic zod (${classicZod[0]}, ...): import { z } from schemas/zod.ts (zod/mini), not from 'zod'`);
const otherLocales = inputsOf([result, ...cjsBuilds]).filter((f) => /node_modules[\\/]zod[\\/]v4[\\/]locales[\\/](?!en\.js$|index\.js$)/.test(f));
if (otherLocales.length) throw new Error(`the bundle holds zod's locales ${otherLocales.join(', ')}: gitbus's messages are English (schemas/zod.ts)`);

// What esbuild leaves outside ASCII is in comments (ours: "§12", "—"; luxon's examples) and in regular
// expression literals (zod's /[\ud800-<U+FFFF>]/): it escapes strings and identifiers only. As \uXXXX (UTF-16
// code units) both mean what they meant: a comment stays a comment, and in a pattern \uXXXX matches that code
// unit (with or without the u flag, a pair of escaped surrogates is one code point). Anywhere else (a String.raw
// template, "\é" in a pattern) the escape would change the program, so the build stops instead; each place is
// checked with TypeScript's parser.
for (const file of outputs) {
  const text = readFileSync(file, 'utf8');
  const places = [...text.matchAll(/[^\x00-\x7f]/g)].map((m) => m.index);
  if (places.length === 0) continue;
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.JS);
  for (const at of places) {
    const where = escapable(source, text, at);
    if (where !== true) throw new Error(`${file}:${text.slice(0, at).split('\n').length}: a non-ASCII character ${where}; write it as \\uXXXX in the source`);
  }
  writeFileSync(file, text.replace(/[^\x00-\x7f]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`));
}

// The build folder's path in a bundle would make the bundle, and the code cache's key, differ per build folder.
for (const file of outputs) if (readFileSync(file, 'utf8').includes(process.cwd())) throw new Error(`${file} holds the build folder's absolute path (${process.cwd()}): name the module it comes from relative to the package`);

/** Checked: an import() left in a bundle would work until the cache is there. */
function noImportCalls(r) {
  const dynamicImports = Object.values(r.metafile.outputs).flatMap((o) => o.imports.filter((i) => i.kind === 'dynamic-import').map((i) => i.path));
  if (dynamicImports.length) throw new Error(`${Object.keys(r.metafile.outputs).join(', ')} holds import() of ${dynamicImports.join(', ')}, which fails in code taken from the V8 code cache (cli/code-cache.ts)`);
}

/** The packages whose files a build holds (node_modules/<name> or node_modules/@scope/<name>). */
function packagesOf(r) {
  return [...new Set(Object.keys(r.metafile.inputs).flatMap((f) => /node_modules[\\/]((?:@[^\\/]+[\\/])?[^\\/]+)/.exec(f)?.[1] ?? []))];
}

/** The input files of these builds, each once. */
function inputsOf(builds) {
  return [...new Set(builds.flatMap((r) => Object.keys(r.metafile.inputs)))];
}

function outputBytes(r) {
  return Object.values(r.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
}

/** True when the character at `at` is in a comment, or in a regular expression and not right after a backslash. */
function escapable(source, text, at) {
  let node = source;
  for (;;) {
    const child = node.getChildren(source).find((c) => c.pos <= at && at < c.end);
    if (!child) break;
    if (child.kind >= ts.SyntaxKind.FirstJSDocNode && child.kind <= ts.SyntaxKind.LastJSDocNode) return true;
    node = child;
  }
  if (at < node.getStart(source)) {
    // Comments on the line of the token before count as its trailing ones, the rest as this token's leading ones.
    const comments = [...(ts.getTrailingCommentRanges(text, node.pos) ?? []), ...(ts.getLeadingCommentRanges(text, node.pos) ?? [])];
    return comments.some((c) => c.pos <= at && at < c.end) || 'outside any token or comment';
  }
  if (node.kind !== ts.SyntaxKind.RegularExpressionLiteral) return `in a ${ts.SyntaxKind[node.kind]}`;
  let slashes = 0;
  while (text[at - 1 - slashes] === '\\') slashes++;
  return slashes % 2 === 0 || 'escaped with a backslash in a regular expression';
}
