import { isoGit } from './git/iso-git.js';
import { cron } from './model/cron-lib.js';

/**
 * Loads now what the bus layer otherwise loads on first use (isomorphic-git, cron, the SSH transport), for a
 * process that runs for days (watch, mcp, ui): it then never reads the package's files again, so an upgrade
 * that replaces them under it (new chunk names) cannot break a later first use. Short commands skip this and
 * start faster (issue 14; docs/ARCHITECTURE.md "How the CLI starts").
 */
export async function preloadBusModules(): Promise<void> {
  cron();
  await Promise.all([isoGit(), import('./transport/ssh.js')]);
}
