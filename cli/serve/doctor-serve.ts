import { createConnection } from 'node:net';
import { ok, skip, warn, type Check } from '../../bus/ops/doctor-check.js';
import { NOT_SERVED, trustedSocket } from './client.js';
import { socketPath } from './socket-path.js';
import { serveLockPath } from './standalone.js';
import { liveOwner, watcherLockPath } from '../../watcher/watcher-lock.js';

const NAME = 'cli.serve';

/**
 * Whether this home's short commands are served by its watcher (cli/serve/): connects to the socket without asking
 * anything (the standby reads no request from it and stays ready), so a socket a killed watcher left is told apart
 * from a live one.
 */
export async function serveCheck(home: string, env: NodeJS.ProcessEnv = process.env, cacheUsable = true): Promise<Check> {
  if (env['GITBUS_SERVE'] === '0') return skip(NAME, 'GITBUS_SERVE=0: every command runs in its own process');
  if (socketPath(home) === null) return warn(NAME, `the home's path is too long for a Unix socket (${home}): its watcher serves no command`, 'use a home with a shorter path to have short commands served');
  const sock = trustedSocket(home);
  if (typeof sock !== 'string') {
    const holder = liveOwner(watcherLockPath(home));
    if (holder?.serves === false) return skip(NAME, `the watcher (pid ${holder.pid}) runs with --no-serve: commands run in their own process`);
    if (sock.reason === NOT_SERVED) return skip(NAME, `${NOT_SERVED}: commands run in their own process (a running watcher serves the short ones that cannot start from their code cache; without one, gitbus serve, which gitbus starts by itself when such commands come back to back)`);
    return warn(NAME, `not used: ${sock.reason}; commands run in their own process`, `chmod go-w ${home} (the socket carries each command's environment, so it is used only in a home nobody else may write to)`);
  }
  const reached = await new Promise<string | null>((resolve) => {
    const c = createConnection(sock);
    const timer = setTimeout(() => {
      c.destroy();
      resolve('no answer within 2s');
    }, 2000);
    c.on('connect', () => {
      clearTimeout(timer);
      c.destroy();
      resolve(null);
    });
    c.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(err.code ?? err.message);
    });
  });
  if (reached !== null) return warn(NAME, `${sock} does not answer (${reached}): a socket left by a watcher or a gitbus serve that is gone; commands run in their own process`, 'run gitbus serve, or start the watcher (gitbus watch, or gitbus service install): either replaces the socket; commands that come back to back also start a gitbus serve by themselves');
  // Which of the two applies to this environment's commands (cli/serve/client.ts ownProcessSooner), as the
  // cli.code-cache check judges the cache: a command's own process ends sooner from its code cache.
  const here =
    env['GITBUS_SERVE'] === '1'
      ? 'with GITBUS_SERVE=1 here, all of them'
      : cacheUsable
        ? 'here they start from it (cli.code-cache) and run in their own process, which ends sooner (GITBUS_SERVE=1 serves them)'
        : 'here none can (cli.code-cache), so they are served';
  return ok(NAME, `${liveOwner(serveLockPath(home)) !== null ? 'gitbus serve' : 'the watcher'} serves short commands (status, dispatch, show, ...) on ${sock} to those that cannot start from their code cache: ${here}`);
}
