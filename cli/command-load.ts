import type { Command } from 'commander';
import type { CommandEntry } from './command-table.js';

/**
 * The command's module, with the SSH passphrase prompt set for any command that may open an SSH connection. Without
 * commander: a plain command line runs without it (cli/plain-line.ts), and registerCommand (cli/program.ts) uses this
 * too.
 */
export async function loadCommand(entry: CommandEntry): Promise<{ register(program: Command): void }> {
  const [mod, { setSshPassphrasePrompt }, { terminalPassphrasePrompt }] = await Promise.all([entry.load(), import('../bus/remote.js'), import('./passphrase-prompt.js')]);
  setSshPassphrasePrompt(terminalPassphrasePrompt);
  return mod;
}
