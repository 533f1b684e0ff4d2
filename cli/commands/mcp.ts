import type { Command } from 'commander';
import { run, type CommonOptions } from '../common.js';
import { note } from '../output.js';
import { preloadBusModules } from '../../bus/preload.js';

export function register(program: Command): void {
  program
    .command('mcp')
    .description('serve the bus to an MCP client (Claude Code, an agent) on standard input and output: tools dispatch, status, show, wait, logs, claim_next, respond')
    .option('--home <dir>', 'bus home of this node (default: $GITBUS_HOME or ~/.gitbus)')
    .option('--json', 'no effect: standard output carries the MCP protocol (JSON-RPC); errors and logs go to standard error')
    .action(async (opts: CommonOptions) =>
      // Errors before the server runs go to standard error only, whatever --json says: standard output is the protocol.
      run({ ...opts, json: false }, async (home) => {
        // Loaded only here: the MCP SDK is a large part of the bundle that no other command needs.
        const [{ serveMcp }] = await Promise.all([import('../../mcp/server.js'), preloadBusModules()]);
        await serveMcp({ home, log: note });
      }),
    );
}
