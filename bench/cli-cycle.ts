import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderBusFile } from '../schemas/bus-file.js';
import { git } from './fixtures.js';

/** The claim cycle with the git CLI, as a shell script would do it: fetch, fast-forward, write, add, commit, push. */
export async function cliCycle(work: string, id: string, env?: NodeJS.ProcessEnv): Promise<void> {
  git(['fetch', '-q', 'origin', 'main'], work, undefined, env);
  git(['merge', '-q', '--ff-only', 'FETCH_HEAD'], work, undefined, env);
  const path = `claims/${id}.1.md`;
  writeFileSync(join(work, path), renderBusFile('claim', { id, attempt: 1, node: 'cli', claimed: new Date().toISOString() }, ''));
  git(['add', path], work, undefined, env);
  git(['commit', '-q', '-m', `gitbus: claim ${id} attempt 1 by cli`], work, undefined, env);
  git(['push', '-q', 'origin', 'HEAD:main'], work, undefined, env);
}

