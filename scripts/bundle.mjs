// Bundles the compiled CLI into one ES module: loading ~60 modules (isomorphic-git's CJS dependencies above all)
// cost ~0.3 s per command on Node 20; one file loads in about half the time (docs/PERFORMANCE.md).
import { build } from 'esbuild';

await build({
  entryPoints: ['dist/cli/main.js'],
  outfile: 'dist/cli/gitbus.mjs',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  logLevel: 'warning',
  // Bundled CommonJS dependencies call require() for Node's built-ins.
  banner: { js: "import { createRequire as __gitbusRequire } from 'node:module'; const require = __gitbusRequire(import.meta.url);" },
});
