import { startGitHost } from './git-host.js';

/**
 * `node dist/bench/git-host-serve.js ROOT`: serves ROOT's bare repositories over smart HTTP (git-host.ts) from a
 * process of its own and prints its URL, until its stdin closes. The start-up bench times commands with spawnSync,
 * which stops its own event loop: a host in the bench's process could not answer them, and its http-backend
 * processes would count as the command's CPU.
 */
const root = process.argv[2];
if (!root) throw new Error('usage: git-host-serve.js ROOT');
const host = await startGitHost(root);
process.stdout.write(`${host.url}\n`);
process.stdin.resume();
process.stdin.on('end', () => void host.close().then(() => process.exit(0)));
