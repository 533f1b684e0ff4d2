// Injected by scripts/bundle.mjs into the CommonJS bundles, where esbuild replaces `import.meta.url`,
// `import.meta.filename` and `import.meta.dirname` with these: those of dist/cli/gitbus.cjs, the whole CLI's bundle,
// in every one of them (gitbus-bus.cjs too). They all sit in dist/cli/, as the ES module chunks do, so relative
// paths such as '../../package.json' mean the same; and the parse cache, which names its build by the file its code
// came from (bus/store/parse-cache.ts), is then shared by the commands of every bundle: `watch` or `join` from
// gitbus.cjs and `status` from gitbus-bus.cjs would otherwise each parse the bus again and overwrite the other's files.
// The URL is made when first read: pathToFileURL's first call was ~0.25 ms of every start (issue 14), and a command
// that runs reads none (gitbus's modules use import.meta.filename and dirname).
let url;
export const __gitbusImportMeta = {
  get url() {
    url ??= require('node:url').pathToFileURL(__gitbusImportMeta.filename).href;
    return url;
  },
  filename: require('node:path').join(__dirname, 'gitbus.cjs'),
  dirname: __dirname,
};
