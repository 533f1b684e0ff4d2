import { existsSync, readFileSync, rmSync } from 'node:fs';
import { NodeLeftError } from './errors.js';
import { joinPlain } from './join-plain.js';
import { writeFileAtomicSync } from './local-io.js';

/*
 * `gitbus leave` takes a node off the bus and leaves its home as it is (node.yaml, clone, keys, logs), so a watcher
 * started there later, by hand or by a service, would put the card back and beat as the node, unasked. The home keeps
 * a note that its node left (`<home>/left.json`): the watcher refuses to start, any other writer of the card too, and
 * `status` says so, until `gitbus join` brings the node back (and removes the note).
 */

/** What `<home>/left.json` says: which node left which bus, when. */
export interface LeftNote {
  node: string;
  remote: string;
  at: string;
}

const FILE = 'left.json';

/** The note that this home's node left the bus; null when it did not. A note that cannot be read still says it left. */
export function leftNote(home: string): LeftNote | null {
  const path = joinPlain(home, FILE);
  if (!existsSync(path)) return null;
  try {
    const o = JSON.parse(readFileSync(path, 'utf8')) as Partial<LeftNote>;
    return { node: typeof o.node === 'string' ? o.node : '?', remote: typeof o.remote === 'string' ? o.remote : '?', at: typeof o.at === 'string' ? o.at : '?' };
  } catch {
    return { node: '?', remote: '?', at: '?' };
  }
}

/** Notes in the home that its node left the bus. */
export function noteLeft(home: string, note: LeftNote): void {
  writeFileAtomicSync(joinPlain(home, FILE), `${JSON.stringify(note)}\n`);
}

/** Takes the note away: the node is on the bus again. */
export function clearLeft(home: string): void {
  rmSync(joinPlain(home, FILE), { force: true });
}

/** Refuses what would put a node that left back on the bus (NodeLeftError, with the fix): its watcher, its card. */
export function refuseIfLeft(home: string, node: string, remote: string): void {
  const left = leftNote(home);
  if (left) throw new NodeLeftError(node, left.at, home, remote);
}
