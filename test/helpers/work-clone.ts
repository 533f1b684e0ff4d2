import { gitCli } from './cli.js';

/**
 * What a person does in a clone of the bus after editing files by hand: everything committed (an empty commit when
 * nothing changed), put on top of the remote's main, pushed.
 */
export function commitAndPush(work: string, message: string): void {
  gitCli(['add', '-A'], work);
  gitCli(['commit', '-q', '--allow-empty', '-m', message], work);
  gitCli(['pull', '-q', '--rebase', 'origin', 'main'], work);
  gitCli(['push', '-q', 'origin', 'HEAD:main'], work);
}
