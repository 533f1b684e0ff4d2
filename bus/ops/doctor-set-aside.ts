import { fs } from '../node-fs.js';
import { join } from 'node:path';
import { ok, warn, type Check } from './doctor-check.js';

/**
 * What this node set aside for a person: results the bus no longer took (`outbox/rejected/`: the task was reclaimed,
 * answered or taken while this node was cut off) and queued changes it never will (`queue/rejected/`). The watcher
 * says so once, in its log; this says it for as long as they are there.
 */
export function setAsideCheck(home: string): Check {
  const found: string[] = [];
  for (const folder of [join(home, 'outbox', 'rejected'), join(home, 'queue', 'rejected')]) {
    try {
      const files = fs.readdirSync(folder).filter((f) => f.endsWith('.json'));
      if (files.length > 0) found.push(`${files.length} in ${folder}`);
    } catch {
      // none set aside there
    }
  }
  if (found.length === 0) return ok('home.set-aside', 'no result or queued change set aside');
  return warn('home.set-aside', `set aside for a person: ${found.join(', ')} (each file says why in "rejected")`, 'read them: a result there is the output of a run the bus did not take; dispatch the task again if it is still wanted, then remove the file');
}

