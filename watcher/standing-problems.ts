import { firstLine } from '../schemas/errors.js';
import { monotonicMs } from '../bus/monotonic.js';
import { isAbsolute, relative, sep } from 'node:path';
import type { Snapshot } from '../bus/model/snapshot.js';
import { entryKind, type TreeEntry } from '../bus/store/objects.js';

/**
 * Problems a person put in the repository that stay until a person moves them: something of another kind where the
 * watcher writes (PATH_OCCUPIED: a file named `claims`, where claims go). Every wake that claims meets it again;
 * it is said once, and again only once what is at its path has changed (and the problem comes back, or another one).
 * And a main that is no bus (NOT_A_BUS: gitbus.yaml deleted, or main replaced), said once for each commit main is at.
 * And this node's own disk failing it (DISK_FULL, LOCAL_IO with one errno, a clone that cannot be made again): every
 * wake meets it until a person frees space or fixes the file system, and a wake may come every second; said once,
 * then again every REMIND_MS while it lasts, so a log read later still shows it is there. One not met for QUIET_MS
 * is taken as mended: when it comes back, it is said at once.
 */
export interface StandingProblems {
  /** Whether `err` is a standing problem said before and still there: then it is not said again. Notes a new one. */
  repeated(err: unknown): boolean;
  /** After a look at main: a problem whose path holds something else now (or nothing) is forgotten. */
  looked(snap: Pick<Snapshot, 'store' | 'commit'>): Promise<void>;
}

/** How long a failure of the node's own disk is not said again (standingProblems). */
export const REMIND_MS = 10 * 60_000;
/**
 * How long a failure of the node's own disk must not be met to count as mended. Longer than the gaps between the
 * wakes that meet a lasting one (a poll of a remote far away, a task's run), so that it is not said at each.
 */
export const QUIET_MS = 2 * 60_000;

export function standingProblems(home?: string, now: () => number = monotonicMs): StandingProblems {
  /** The message said -> the path and what was at it (PathOccupiedError's data). */
  const said = new Map<string, { path: string; what: string }>();
  const notABus = new Set<string>();
  /** A local failure's kind (localKind) -> when it was last said, and last met. */
  const local = new Map<string, { said: number; met: number }>();
  return {
    repeated(err) {
      const e = err as { code?: unknown; data?: { path?: unknown; what?: unknown } };
      const kind = localKind(err, home);
      if (kind !== null) {
        const t = now();
        const at = local.get(kind);
        if (at !== undefined && t - at.said < REMIND_MS && t - at.met < QUIET_MS) {
          at.met = t;
          return true;
        }
        local.set(kind, { said: t, met: t });
        return false;
      }
      // A main without gitbus.yaml (or a non-file one) stays until a person brings the file back: said once for each
      // commit main is at (the message names it).
      if (e.code === 'NOT_A_BUS') {
        const message = firstLine(err);
        if (notABus.has(message)) return true;
        notABus.add(message);
        return false;
      }
      if (e.code !== 'PATH_OCCUPIED' || typeof e.data?.path !== 'string' || typeof e.data.what !== 'string') return false;
      const message = firstLine(err);
      if (said.has(message)) return true;
      said.set(message, { path: e.data.path, what: e.data.what });
      return false;
    },
    async looked(snap) {
      if (said.size === 0) return;
      // A tree that cannot be read here says nothing of a change: what was said stands.
      for (const [message, at] of said) if ((await kindAt(snap, at.path).catch(() => at.what)) !== at.what) said.delete(message);
    },
  };
}

/**
 * What makes two failures of the node's own disk the same, or null for any other error. Not the path: a full disk
 * fails whichever file is written next (a temp file's name is random), and the fix is the same for all of them. A
 * LOCAL_IO failure by its errno and the home's folder it is in (clone.git, logs, outbox: a folder made read-only
 * is one problem, another folder failing the same way another, each with its own fix).
 */
function localKind(err: unknown, home: string | undefined): string | null {
  const e = err as { code?: unknown; data?: { errno?: unknown; path?: unknown } };
  if (e.code === 'DISK_FULL') return 'DISK_FULL';
  if (e.code === 'LOCAL_IO') {
    const path = typeof e.data?.path === 'string' ? e.data.path : '';
    const within = home !== undefined ? relative(home, path) : '';
    const folder = within !== '' && !within.startsWith('..') && !isAbsolute(within) ? within.split(sep)[0] : path;
    return `LOCAL_IO ${String(e.data?.errno)} ${folder}`;
  }
  // A clone that could not be made again (bus/clone-repair.ts ensureClone) says so the same way at every wake.
  if (e.code === 'CLONE_DAMAGED') return `CLONE_DAMAGED ${firstLine(err)}`;
  return null;
}

/** What is at `path` in the snapshot's tree, in PathOccupiedError's words ('a file', 'a folder', ...); null for nothing. */
async function kindAt(snap: Pick<Snapshot, 'store' | 'commit'>, path: string): Promise<string | null> {
  if (snap.commit === null) return null;
  let tree: string | null = await snap.store.readCommitTree(snap.commit);
  const parts = path.split('/');
  for (const [i, name] of parts.entries()) {
    if (tree === null) return null;
    const entry: TreeEntry | undefined = (await snap.store.readTree(tree)).find((e) => e.path === name);
    if (!entry) return null;
    if (i === parts.length - 1) return entryKind(entry);
    tree = entry.type === 'tree' ? entry.oid : null;
  }
  return null;
}
