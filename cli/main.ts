// The entry of the ES module build (dist/cli/gitbus.mjs and its chunks): what bin/gitbus.js runs with
// GITBUS_CODE_CACHE=0, or where the CommonJS bundle cannot run (cli/code-cache.ts).
import { start } from './start.js';

// A watcher's standby process (cli/serve/standby.ts) waits for a client's command before it starts one. The
// variable's name is STANDBY_ENV (cli/serve/standby-env.ts), written out: --version loads nothing below cli/.
if (process.env['GITBUS_STANDBY'] === '1' && typeof process.send === 'function') {
  const { standby } = await import('./serve/standby.js');
  await standby(start);
} else await start();
