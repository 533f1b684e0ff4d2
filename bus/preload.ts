import { isoGit } from './git/iso-git.js';
import { cron } from './model/cron-lib.js';
import { handoffSchema } from '../schemas/handoff.js';

/**
 * Loads now what the bus layer otherwise loads on first use (isomorphic-git, cron, the SSH transport, and from the
 * CommonJS bundle the schemas script, cli/schemas-script.ts, which runs on the first read of a schema), for a
 * process that runs for days (watch, mcp, ui): it then never reads the package's files again, so an upgrade
 * that replaces them under it (new chunk names) cannot break a later first use. Short commands skip this and
 * start faster (issue 14; docs/ARCHITECTURE.md "How the CLI starts").
 */
export async function preloadBusModules(): Promise<void> {
  cron();
  // A comparison, not a bare read, so that no bundler drops it.
  if (handoffSchema === undefined) throw new Error('gitbus: the handoff schema is missing from the build');
  await Promise.all([isoGit(), import('./transport/ssh.js')]);
}
