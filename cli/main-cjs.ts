// The entry of the CommonJS bundles (dist/cli/gitbus.cjs, and gitbus-bus.cjs with the bus commands only), which
// cli/code-cache.ts compiles with a V8 code cache (docs/ARCHITECTURE.md "How the CLI starts"). esbuild cannot write
// a top-level await into CommonJS, so this entry starts the CLI without one; a command that throws ends the
// process as an unhandled rejection (exit 1, the error and its stack on stderr), as the ES module entry's
// top-level await does.
import { start } from './start.js';
import { standby } from './serve/standby.js';
import { STANDBY_ENV } from './serve/standby-env.js';

// What the loader asks at exit (cli/code-cache.ts): whether a command's action ran, so whether to write a cache.
export { commandLine, commandRan } from './start.js';

// A watcher's standby process (cli/serve/standby.ts) waits for a client's command before it starts one.
if (process.env[STANDBY_ENV] === '1' && typeof process.send === 'function') void standby(start);
else void start();
