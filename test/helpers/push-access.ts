import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitCli } from './cli.js';

/**
 * What anyone with push access can do to a bus with plain git, from their clone `clone` of it (tests of trust:
 * forged, copied and deleted files). Each call is one commit pushed to main.
 */
export function pushFiles(clone: string, files: Record<string, string>, message: string): void {
  gitCli(['pull', '-q', '--ff-only'], clone);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(clone, path, '..'), { recursive: true });
    writeFileSync(join(clone, path), content);
  }
  gitCli(['add', '-A'], clone);
  commitAndPush(clone, message);
}

export function removeFiles(clone: string, paths: string[], message: string): void {
  gitCli(['pull', '-q', '--ff-only'], clone);
  gitCli(['rm', '-q', ...paths], clone);
  commitAndPush(clone, message);
}

/** Commits and pushes to main; when a watcher pushed first, rebases on it and pushes again, as a person would. */
function commitAndPush(clone: string, message: string): void {
  gitCli(['-c', 'user.name=p', '-c', 'user.email=p@x', 'commit', '-qm', message], clone);
  for (let attempt = 1; ; attempt++) {
    try {
      gitCli(['push', '-q', 'origin', 'HEAD:main'], clone);
      return;
    } catch (err) {
      if (attempt >= 5 || !String(err).includes('rejected')) throw err;
      gitCli(['-c', 'user.name=p', '-c', 'user.email=p@x', 'pull', '-q', '--rebase', 'origin', 'main'], clone);
    }
  }
}
