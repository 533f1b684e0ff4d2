// Injected by scripts/bundle.mjs into the CommonJS bundles, where esbuild replaces `import.meta.url` with this:
// the bundle's own file URL, as each ES module chunk's was (they all sit in dist/cli/, so relative paths such as
// '../../package.json' mean the same).
export const __gitbusImportMetaUrl = require('node:url').pathToFileURL(__filename).href;
