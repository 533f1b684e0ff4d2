import { childProcess } from '../child-process.js';
import { sweepRefLockMarks } from './local-direct.js';

/** Direct pushes per remote path in this process. */
const pushes = new Map<string, number>();

/**
 * Direct pushes skip receive-pack, and with it the `git gc --auto` that git runs after every push it receives
 * (receive.autogc), so a local remote's loose objects, above all the heartbeat commits replaced at every beat,
 * would pile up forever. Every `every` direct pushes this process starts `git gc --auto --quiet` in the remote,
 * as receive-pack would: git decides whether there is enough to pack (gc.auto, 6700 loose objects by default),
 * takes its own gc.pid lock against other nodes doing the same, and prunes unreachable objects only when they
 * are older than gc.pruneExpire (two weeks), so nothing a running push still needs is removed.
 *
 * The packs it writes get their reverse index (`.rev`), as in a repository `gitbus init` made (local.ts,
 * BUS_REMOTE_CONFIG_SECTIONS): a remote made before that, or by hand, gains them at its next gc.
 *
 * Returns whether a gc was started. It runs detached and is never waited for; a failure (no git) costs nothing.
 */
export function afterDirectPush(remote: string, every: number, gitPath = 'git'): boolean {
  const n = (pushes.get(remote) ?? 0) + 1;
  pushes.set(remote, n);
  if (every <= 0 || n % every !== 0) return false;
  // Ref-lock marks left by this host's processes killed mid-push (local-direct.ts) go at the same moment.
  sweepRefLockMarks(remote);
  try {
    const child = childProcess().spawn(gitPath, ['-c', 'pack.writeReverseIndex=true', '-C', remote, 'gc', '--auto', '--quiet'], { stdio: 'ignore', detached: true });
    child.on('error', () => undefined);
    child.unref();
    return true;
  } catch {
    return false;
  }
}
