import { readLoose } from './loose-read.js';

/**
 * The committer time (ms since the epoch) of the commit `oid` when it is a loose object in `gitdir`; null when it is
 * not loose there (the caller reads it through isomorphic-git) or has no committer line.
 */
export async function looseCommitTime(gitdir: string, oid: string): Promise<number | null> {
  const o = await readLoose(gitdir, oid);
  if (o === null || o.type !== 'commit') return null;
  const s = committedAt(o.content);
  return s === null ? null : s * 1000;
}

/** A commit's committer time in Unix seconds, from its content; null when its header has none. */
export function committedAt(content: Buffer): number | null {
  const headerEnd = content.indexOf('\n\n');
  const header = content.toString('utf8', 0, headerEnd < 0 ? content.length : headerEnd);
  const m = /^committer .* (\d+) [+-]\d{4}$/m.exec(header);
  return m ? Number(m[1]) : null;
}
