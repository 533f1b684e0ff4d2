import { fs } from './node-fs.js';
import { joinPlain } from './join-plain.js';

/** In a node's clone: its mtime is when any process of the node last heard from the remote. */
const CONTACT_FILE = 'gitbus-last-contact';

/**
 * When this node last heard from the remote (any process of it), for showing the age of what it knows while
 * the remote cannot be reached. Kept as a file's mtime: one utimes call per listing, no clock but this machine's.
 */
export function lastContact(gitdir: string): Date | null {
  try {
    return fs.statSync(joinPlain(gitdir, CONTACT_FILE)).mtime;
  } catch {
    return null;
  }
}

/** The remote answered now. */
export function recordContact(gitdir: string): void {
  const path = joinPlain(gitdir, CONTACT_FILE);
  const now = new Date();
  try {
    fs.utimesSync(path, now, now);
  } catch {
    try {
      fs.writeFileSync(path, '');
    } catch {
      // A clone that cannot be written is reported by the operation that writes it; this is only a hint.
    }
  }
}
