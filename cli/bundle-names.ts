// The build's CommonJS bundles by name, apart from the command table so that the boot (cli/boot.ts) and the build's
// identity (cli/bundle-identity.ts) know them without its ~8 KB of rows, which every start would compile for that.

/** The bundles that rows of the command table name (`bundle`): dist/cli/gitbus-<name>.cjs. scripts/bundle.mjs checks that the table names these and no other. */
export const COMMAND_BUNDLES = ['bus', 'read', 'dispatch', 'claude'] as const;
export type CommandBundle = (typeof COMMAND_BUNDLES)[number];

/** The loader (cli/code-cache.ts), which the boot runs with a code cache of its own. */
export const LOADER_FILE = 'gitbus-loader.cjs';
