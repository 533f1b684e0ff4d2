// The entry of the ES module build (dist/cli/gitbus.mjs and its chunks): what bin/gitbus.js runs with
// GITBUS_CODE_CACHE=0, or where the CommonJS bundle cannot run (cli/code-cache.ts).
import { start } from './start.js';
import { STANDBY_ENV } from './serve/standby-env.js';

// A watcher's standby process (cli/serve/standby.ts) waits for a client's command before it starts one.
if (process.env[STANDBY_ENV] === '1' && typeof process.send === 'function') {
  const { standby } = await import('./serve/standby.js');
  await standby(start);
} else await start();
