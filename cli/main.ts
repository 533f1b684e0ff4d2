import { Command, CommanderError } from 'commander';
import { GITBUS_VERSION } from '../bus/node-card.js';
import { setSshPassphrasePrompt } from '../bus/remote.js';
import { GitbusError } from '../schemas/errors.js';
import { EXIT } from './exit-codes.js';
import { reportError } from './output.js';
import { terminalPassphrasePrompt } from './passphrase-prompt.js';
import { register as init } from './commands/init.js';
import { register as join } from './commands/join.js';
import { register as dispatch } from './commands/dispatch.js';
import { register as status } from './commands/status.js';
import { register as show } from './commands/show.js';
import { register as claim } from './commands/claim.js';
import { register as release } from './commands/release.js';
import { register as respond } from './commands/respond.js';
import { register as cancel } from './commands/cancel.js';
import { register as lint } from './commands/lint.js';
import { register as archive } from './commands/archive.js';
import { register as watch } from './commands/watch.js';
import { register as logs } from './commands/logs.js';
import { register as hooks } from './commands/hooks.js';
import { register as service } from './commands/service.js';
import { register as doctor } from './commands/doctor.js';
import { register as runCmd } from './commands/run.js';
import { register as attach } from './commands/attach.js';
import { register as fanout } from './commands/fanout.js';
import { register as group } from './commands/group.js';
import { register as resolve } from './commands/resolve.js';
import { register as resume } from './commands/resume.js';
import { register as worktrees } from './commands/worktrees.js';
import { register as mcp } from './commands/mcp.js';
import { register as setup } from './commands/setup.js';
import { register as prime } from './commands/prime.js';
import { register as collect } from './commands/collect.js';
import { register as hookCmd } from './commands/hook.js';
import { register as progress } from './commands/progress.js';
import { register as task } from './commands/task.js';
import { register as sign } from './commands/sign.js';
import { register as verify } from './commands/verify.js';
import { register as trust } from './commands/trust.js';
import { register as envCmd } from './commands/env.js';
import { register as ui } from './commands/ui.js';

const program = new Command('gitbus')
  .description('a message bus for a fleet of machines, on one shared git repository')
  .version(GITBUS_VERSION)
  .showHelpAfterError()
  .exitOverride();

for (const register of [init, join, dispatch, status, show, claim, release, respond, cancel, lint, archive, watch, logs, runCmd, attach, resume, worktrees, service, hooks, doctor]) register(program);
for (const register of [fanout, group, resolve]) register(program);
mcp(program);
// Claude Code: the plugin's installer, the agent primer, hear-back (docs: README "Using gitbus from Claude Code").
for (const register of [collect, prime, setup, hookCmd]) register(program);
for (const register of [progress, task]) register(program);
// Signatures (docs/PROTOCOL.md §11).
for (const register of [sign, verify]) register(program);
// Trust (docs/PROTOCOL.md §12): the trust root, its chain, and this node's pin.
trust(program);
// Environment sync (README "Keeping every node's setup in step"): profiles under env/, drift by content hash.
envCmd(program);
// The read-only web view (README "Seeing the fleet in a browser").
ui(program);
for (const cmd of program.commands) cmd.exitOverride();
setSshPassphrasePrompt(terminalPassphrasePrompt());

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // --help and --version exit 0 through here; everything else commander rejects is a usage error.
    process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    // commander printed its message on stderr; a script asking for --json gets the same error as a document.
    if (err.exitCode !== 0 && process.argv.includes('--json')) {
      const error = { code: 'BAD_INPUT', message: err.message.replace(/^error: /, ''), fix: 'see the accepted options and values with --help', data: { commander: err.code } };
      process.stdout.write(`${JSON.stringify({ error }, null, 2)}\n`);
    }
  } else if (err instanceof GitbusError) {
    // A flag parser (cli/flags.ts) refused a value while commander read the command line, before any action ran.
    process.exitCode = reportError(err, process.argv.includes('--json'));
  } else {
    throw err;
  }
}
