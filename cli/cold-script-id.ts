// The names by which a command bundle and its cold script find each other (cli/code-cache.ts, scripts/split-cold.mjs),
// apart so that the build and the bundle identity read them without the loader's code.

/**
 * The bundles with a cold script: the modules of the bundle that a plain run of its commands never reads
 * (scripts/cold/<bundle>.txt), bundled apart as dist/cli/gitbus-<bundle>-cold.cjs and run on the first read of one
 * of their values (issue 14, session 43).
 */
export const COLD_BUNDLES: readonly string[] = ['dispatch'];
/** What a command bundle requires for a module of its cold script (`gitbus:cold:dist/bus/trust/chain.js`): its stub. */
export const COLD_PREFIX = 'gitbus:cold:';
/** The cold script of a bundle, in dist/cli/. */
export const coldFile = (bundle: string): string => `gitbus-${bundle}-cold.cjs`;
