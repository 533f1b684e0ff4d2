import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomicSync } from '../../bus/local-io.js';
import type { PendingPush } from './push.js';

/**
 * Result branches whose response already went out without them (the project remote refused the push, or was out
 * of reach for longer than a response is held back): `<home>/pushes/<id>.<attempt>.json`, retried by the watcher
 * until the remote takes them. The worktree, and so the work, stays on the node meanwhile. Once the remote took one,
 * the entry stays, `landed`, until the bus has its delivery (docs/PROTOCOL.md §3a, "A push that lands later"):
 * a crash between the push and the delivery leaves it here to be published at the next start.
 */
export interface PendingPushEntry {
  id: string;
  attempt: number;
  push: PendingPush;
  /** Where and when the remote took it: what the delivery publishes. */
  landed?: { branch: string; headCommit: string; at: string };
}

const dirOf = (home: string) => join(home, 'pushes');
const fileOf = (home: string, id: string, attempt: number) => join(dirOf(home), `${id}.${attempt}.json`);

export function putPendingPush(home: string, e: PendingPushEntry): void {
  mkdirSync(dirOf(home), { recursive: true });
  const path = fileOf(home, e.id, e.attempt);
  writeFileAtomicSync(path, JSON.stringify(e, null, 2), `${path}.tmp`);
}

export function listPendingPushes(home: string): PendingPushEntry[] {
  let names: string[];
  try {
    names = readdirSync(dirOf(home)).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  return names.flatMap((n) => {
    try {
      return [JSON.parse(readFileSync(join(dirOf(home), n), 'utf8')) as PendingPushEntry];
    } catch {
      return [];
    }
  });
}

export function removePendingPush(home: string, id: string, attempt: number): void {
  rmSync(fileOf(home, id, attempt), { force: true });
}
