/**
 * `git status --porcelain=v2 --branch`, read. One run answers what took four: the branch (`git branch
 * --show-current`, `git symbolic-ref`), HEAD's commit (`git rev-parse HEAD`), the changes as `git status --short`
 * prints them for the handoff body, and their number for the project fields (issue 14: a dispatch from a checkout
 * started twelve git processes).
 */
export interface StatusV2 {
  /** The current branch; null when HEAD is detached. Named also when it has no commit yet. */
  branch: string | null;
  /** HEAD's commit; null before the first commit. */
  head: string | null;
  /** The changes, one line each as `git status --short` run in the same folder prints them, unmerged paths first. */
  short: string[];
}

/** Reads the output of `git status --porcelain=v2 --branch` (without -z). Pure. */
export function parseStatusV2(out: string): StatusV2 {
  let branch: string | null = null;
  let head: string | null = null;
  const short: string[] = [];
  // git lists unmerged paths after the other changes in v2 and sorts them in among them in short: first here, so
  // that a body's first 20 lines show a conflict.
  const unmerged: string[] = [];
  for (const line of out.split('\n')) {
    if (line.startsWith('# ')) {
      const [key, ...rest] = line.slice(2).split(' ');
      const value = rest.join(' ');
      if (key === 'branch.oid' && value !== '(initial)') head = value;
      else if (key === 'branch.head' && value !== '(detached)') branch = value;
      continue;
    }
    const entry = shortLine(line);
    if (entry !== null) (line.startsWith('u ') ? unmerged : short).push(entry);
  }
  return { branch, head, short: [...unmerged, ...short] };
}

/**
 * One entry as `git status --short` prints it. v2 writes `.` where short writes a space, and quotes a path only when
 * it has characters that need escaping; short also puts a path with a space between quotes (git's
 * QUOTE_PATH_QUOTE_SP). A rename is `new<TAB>old` in v2 and `old -> new` in short. Pure.
 */
function shortLine(line: string): string | null {
  const kind = line[0];
  if (kind === '?' || kind === '!') return line.length > 2 ? `${kind}${kind} ${spaced(line.slice(2))}` : null;
  // Fields before the path: 1 has eight, 2 nine (then `path<TAB>origPath`), u ten.
  const fields = kind === '1' ? 8 : kind === '2' ? 9 : kind === 'u' ? 10 : 0;
  if (fields === 0) return null;
  const parts = line.split(' ');
  if (parts.length <= fields) return null;
  const xy = shortXY(parts[1] ?? '', kind === 'u' ? '' : (parts[2] ?? ''));
  const rest = parts.slice(fields).join(' ');
  if (kind !== '2') return `${xy} ${spaced(rest)}`;
  const tab = rest.indexOf('\t');
  return tab < 0 ? `${xy} ${spaced(rest)}` : `${xy} ${spaced(rest.slice(tab + 1))} -> ${spaced(rest.slice(0, tab))}`;
}

/**
 * The two status letters as short prints them: a space for v2's `.`, and for a submodule whose own commit did not
 * change (`S.MU`, `S..U`) `m` for changes inside it and `?` for untracked files in it, where v2 says `M` (git's
 * wt_status_collect_changed_cb). Pure.
 */
function shortXY(xy: string, sub: string): string {
  const [x = ' ', y = ' '] = [...xy.replace(/\./g, ' ')];
  if (y !== 'M' || !sub.startsWith('S') || sub[1] === 'C') return `${x}${y}`;
  return `${x}${sub[2] === 'M' ? 'm' : sub[3] === 'U' ? '?' : 'M'}`;
}

/** A path as short prints it: quoted when it has a space (v2 leaves such a path bare), else as v2 wrote it. Pure. */
function spaced(path: string): string {
  return !path.startsWith('"') && path.includes(' ') ? `"${path}"` : path;
}
