// The entry of the CommonJS bundles (dist/cli/gitbus.cjs, and gitbus-bus.cjs with the bus commands only), which
// cli/code-cache.ts compiles with a V8 code cache (docs/ARCHITECTURE.md "How the CLI starts"). esbuild cannot write
// a top-level await into CommonJS, so this entry starts the CLI without one; a command that throws ends the
// process as an unhandled rejection (exit 1, the error and its stack on stderr), as the ES module entry's
// top-level await does.
import { start } from './start.js';

// What the loader asks at exit (cli/code-cache.ts): whether a command's action ran, so whether to write a cache.
export { commandRan } from './start.js';

void start();
