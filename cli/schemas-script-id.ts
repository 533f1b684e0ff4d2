// The names by which the command bundles, the schemas script and the loader find each other (cli/schemas-script.ts,
// scripts/split-schemas.mjs), apart so that the build and the bundle identity read them without the loader's code.

/** What a command bundle requires for a module of the schemas script (`gitbus:schemas:dist/schemas/handoff.js`, `gitbus:schemas:yaml`): its stub, made by the loader. */
export const STUB_PREFIX = 'gitbus:schemas:';
/** What the schemas script requires for a module of the command bundle's (its `sharedModules`). */
export const MAIN_PREFIX = 'gitbus:main:';
/** The schemas script in dist/cli/. */
export const SCHEMAS_FILE = 'gitbus-schemas.cjs';
