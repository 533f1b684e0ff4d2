/** Environment variable that makes bin/gitbus.js a watcher's standby process (cli/serve/standby.ts). */
export const STANDBY_ENV = 'GITBUS_STANDBY';

/** A folder where the standby keeps a bus of its own to warm up on (cli/serve/standby.ts warmUp). */
export const WARMUP_ENV = 'GITBUS_STANDBY_WARMUP';
