import type { Command } from 'commander';
import { run, type CommonOptions } from '../common.js';
import { note } from '../output.js';
import { stdStream } from '../std-write.js';
import { preloadBusModules } from '../../bus/preload.js';
import { InputError } from '../../bus/errors.js';
import { DURATION_RULE, tryParseDuration } from '../../schemas/duration.js';

/** How often a long call (a `wait`) sends progress when nothing new came; a client's idle timeout must be longer. */
const PROGRESS_ENV = 'GITBUS_MCP_PROGRESS_EVERY';

export function register(program: Command): void {
  program
    .command('mcp')
    .description('serve the bus to an MCP client (Claude Code, an agent) on standard input and output: tools dispatch, status, show, wait, logs, claim_next, respond')
    .option('--home <dir>', 'bus home of this node (default: $GITBUS_HOME or ~/.gitbus)')
    .option('--json', 'no effect: standard output carries the MCP protocol (JSON-RPC); errors and logs go to standard error')
    .action(async (opts: CommonOptions) =>
      // Errors before the server runs go to standard error only, whatever --json says: standard output is the protocol.
      run({ ...opts, json: false }, async (home) => {
        const progressEveryMs = progressEvery(process.env[PROGRESS_ENV]);
        // Loaded only here: the MCP SDK is a large part of the bundle that no other command needs.
        const [{ serveMcp }] = await Promise.all([import('../../mcp/server.js'), preloadBusModules()]);
        // The protocol goes through process.stdout's stream (the SDK's transport): a client that went away ends the
        // server quietly, as a reader that went away ends any command (cli/std-write.ts).
        stdStream('stdout');
        await serveMcp({ home, log: note, ...(progressEveryMs === undefined ? {} : { progressEveryMs }) });
      }),
    );
}

/** `$GITBUS_MCP_PROGRESS_EVERY`, when set: a duration above zero. */
function progressEvery(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  const ms = tryParseDuration(text);
  if (ms === undefined || ms === 0) throw new InputError(`${PROGRESS_ENV}=${text} is not a duration above zero`, `set it to ${DURATION_RULE} (15s by default), or unset it`, { env: PROGRESS_ENV, text });
  return ms;
}
