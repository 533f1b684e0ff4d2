// The entry of the ES module build (dist/cli/gitbus.mjs and its chunks): what bin/gitbus.js runs with
// GITBUS_CODE_CACHE=0, or where the CommonJS bundle cannot run (cli/code-cache.ts).
import { start } from './start.js';

await start();
