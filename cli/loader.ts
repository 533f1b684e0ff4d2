// The entry of dist/cli/gitbus-loader.cjs, which the boot runs (cli/boot.ts): what it calls.
export { runCli, ranCommand } from './code-cache.js';
export { settleCache } from './code-cache-store.js';
