import { fs } from './node-fs.js';
import { dirname, join } from 'node:path';
import { firstLine } from '../schemas/errors.js';
import { fetchObjects } from './git/fetch.js';
import { isoGit } from './git/iso-git.js';
import { CloneDamagedError } from './local-io.js';
import { NoBusError } from './errors.js';
import type { BusRepo } from './repo.js';
import { decodeTree } from './store/encode.js';
import { readLoose } from './store/loose-read.js';
import { homeGoneFor, reclone } from './shallow-clone.js';
import { joinPlain } from './join-plain.js';
import { monotonicMs } from './monotonic.js';
import { remoteFailureCode } from './remote-failure.js';

export interface Damage {
  oid: string;
  /** `missing`, or `corrupt: <why>`. */
  problem: string;
}

const MAIN = 'refs/heads/main';

/** Reads one object without repairing it: its content and type, or the damage. */
async function probe(gitdir: string, oid: string, cache: object): Promise<{ type: string; content: Uint8Array } | Damage> {
  try {
    const loose = await readLoose(gitdir, oid);
    if (loose) return loose;
    const o = await (await isoGit()).readObject({ fs, gitdir, oid, cache, format: 'content' });
    return { type: o.type, content: o.object as Uint8Array };
  } catch (err) {
    if (err instanceof CloneDamagedError) return { oid, problem: String(err.data['problem']) };
    if ((err as { code?: unknown }).code === 'NotFoundError') return { oid, problem: 'missing' };
    return { oid, problem: `unreadable: ${firstLine(err)}` };
  }
}

/**
 * Every object of `commit` and its tree that cannot be read (the commit, trees, blobs; not its history, which a
 * depth-1 clone does not have). What `gitbus doctor` checks and what a repair removes before fetching again.
 */
export async function findDamage(gitdir: string, commit: string, cache: object = {}): Promise<Damage[]> {
  const damage: Damage[] = [];
  const c = await probe(gitdir, commit, cache);
  if ('problem' in c) return [c];
  const root = /^tree ([0-9a-f]{40})/.exec(Buffer.from(c.content).toString('latin1', 0, 46))?.[1];
  if (!root) return [{ oid: commit, problem: 'corrupt: the commit has no tree' }];
  const seen = new Set<string>();
  const walk = async (tree: string): Promise<void> => {
    if (seen.has(tree)) return;
    seen.add(tree);
    const t = await probe(gitdir, tree, cache);
    if ('problem' in t) {
      damage.push(t);
      return;
    }
    for (const e of decodeTree(t.content)) {
      if (e.type === 'tree') await walk(e.oid);
      else if (e.type === 'blob' && !seen.has(e.oid)) {
        seen.add(e.oid);
        const b = await probe(gitdir, e.oid, cache);
        if ('problem' in b) damage.push(b);
      }
    }
  };
  await walk(root);
  return damage;
}

function removeLoose(gitdir: string, oid: string): void {
  fs.rmSync(join(gitdir, 'objects', oid.slice(0, 2), oid.slice(2)), { force: true });
}

/**
 * The clone is a cache of the remote, so a damaged object is removed and fetched again: every damaged object of
 * main's tree (the clone's and the remote's main) is removed, then the remote's main is fetched whole at depth 1
 * (objects already present and sound are kept). Throws CloneDamagedError when `oid` is still unreadable after it
 * (the remote is unreachable, or no longer has that object in main). Returns what was repaired.
 */
export async function repairClone(repo: BusRepo, oid: string | null, damage?: CloneDamagedError): Promise<Damage[]> {
  const gitdir = repo.gitdir;
  const cache = {};
  const problem = String(damage?.data['problem'] ?? 'missing');
  if (oid && problem.startsWith('corrupt')) removeLoose(gitdir, oid);
  let remote: string | null;
  try {
    remote = (await repo.transport.listRefs()).get(MAIN) ?? null;
  } catch (err) {
    throw new CloneDamagedError(gitdir, oid ?? '(main)', problem, `the remote is not reachable: ${firstLine(err)}`);
  }
  const local = await repo.localHead(MAIN);
  const found: Damage[] = [];
  for (const head of new Set([local, remote].filter((o): o is string => o !== null))) {
    for (const d of await findDamage(gitdir, head, cache)) {
      if (d.problem !== 'missing') removeLoose(gitdir, d.oid);
      found.push(d);
    }
  }
  if (remote) {
    try {
      await fetchObjects({ fs, gitdir, cache: repo.store.cache, transport: repo.transport, want: remote, haves: [], depth: 1, explodeBelow: Number.POSITIVE_INFINITY });
      if (local === null) await (await isoGit()).writeRef({ fs, gitdir, ref: MAIN, value: remote, force: true });
      // Damage that fetching main again did not mend (a broken pack, a broken git directory): clone afresh.
      if ((await findDamage(gitdir, remote, {})).length > 0) await reclone(gitdir, repo.transport);
    } catch (err) {
      throw new CloneDamagedError(gitdir, oid ?? remote, problem, firstLine(err));
    }
  }
  // An object of the archive branch is not repaired here: its readers fetch what they read by path
  // (bus/archive/source.ts); fetching the archive's tip into the clone would be 400,000 objects at 100,000 tasks.
  if (oid) {
    const after = await probe(gitdir, oid, cache);
    if ('problem' in after) throw new CloneDamagedError(gitdir, oid, problem, `the remote's main (${remote?.slice(0, 12) ?? 'none'}) does not hold it (any more); the next command reads the current main`);
  }
  return found;
}

/**
 * A home whose clone is gone or is no git directory (deleted by hand, a failed disk; its `objects` a file) gets a
 * fresh clone before any command uses it, and before a long-lived process's next sync (BusRepo.sync: a watcher
 * whose clone was deleted under it failed every wake until a command cloned again); node.yaml, logs and the outbox
 * are left as they are. Two file system checks when the clone is whole.
 *
 * With `waits` (the watcher's, BusRepo.recloneWaits), a reclone that fails past the remote's listing (a full disk)
 * is not tried again in this process for RECLONE_WAIT_MS, doubling with each failure to RECLONE_WAIT_MAX_MS: a
 * watcher wakes every poll, and each try downloads main whole before it fails on the disk. Meanwhile the failure is
 * thrown again as it was; a command, the MCP server and the web view, where a person waits on the answer, try at
 * once. A remote that cannot be reached costs a try nothing, and the clone must come back as soon as the remote
 * does: tried at every call.
 */
export async function ensureClone(gitdir: string, transport: BusRepo['transport'], opts: { waits?: boolean; now?: () => number } = {}): Promise<void> {
  const now = opts.now ?? monotonicMs;
  if (cloneIsWhole(gitdir)) {
    failedReclones.delete(gitdir);
    return;
  }
  // A home removed under a long-lived process (the MCP server, the web view, a watcher stopping) is not made again
  // by a clone into it.
  if (homeGoneFor(gitdir)) throw new NoBusError(dirname(gitdir));
  // One reclone at a time in a process (a watcher delivers results beside its claims): the others wait for it.
  const under = recloning.get(gitdir);
  if (under) return under;
  const failed = opts.waits === true ? failedReclones.get(gitdir) : undefined;
  if (failed && now() < failed.at + failed.waitMs) throw failed.error;
  const made = reclone(gitdir, transport, () => cloneIsWhole(gitdir))
    .then(() => {
      failedReclones.delete(gitdir);
    })
    .catch((err: unknown) => {
      // The home removed while it cloned (bus/shallow-clone.ts): said as such, not as a damaged clone.
      if (err instanceof NoBusError) throw err;
      const problem = 'the clone is missing or not a git directory';
      if (remoteFailureCode(err) !== null || opts.waits !== true) throw new CloneDamagedError(gitdir, '(none)', problem, firstLine(err));
      const waitMs = failed ? Math.min(RECLONE_WAIT_MAX_MS, failed.waitMs * 2) : RECLONE_WAIT_MS;
      const error = new CloneDamagedError(gitdir, '(none)', problem, `${firstLine(err)} (the watcher tries again at most every ${Math.round(waitMs / 1000)} s)`);
      failedReclones.set(gitdir, { at: now(), waitMs, error });
      throw error;
    })
    .finally(() => recloning.delete(gitdir));
  recloning.set(gitdir, made);
  return made;
}

/** How long a process waits after a failed reclone before it tries again, at first and at most (ensureClone). */
export const RECLONE_WAIT_MS = 30_000;
export const RECLONE_WAIT_MAX_MS = 10 * 60_000;

/** Reclones under way in this process, by clone (ensureClone). */
const recloning = new Map<string, Promise<void>>();
/** The last failed reclone of each clone in this process: when, how long until the next try, what it said. */
const failedReclones = new Map<string, { at: number; waitMs: number; error: CloneDamagedError }>();

/** Whether the clone at `gitdir` is a git directory: its HEAD, and an objects folder (not a file). Two checks. */
export function cloneIsWhole(gitdir: string): boolean {
  return fs.existsSync(joinPlain(gitdir, 'HEAD')) && fs.statSync(joinPlain(gitdir, 'objects'), { throwIfNoEntry: false })?.isDirectory() === true;
}
