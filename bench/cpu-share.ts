import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A CPU share of its own for each watcher process of a throughput row: a Linux control group whose CFS quota lets
 * its processes use `share` of one core, however many others run. It stands in for a fleet's nodes, each on a
 * machine of its own: on shared cores every watcher added takes CPU from the others, so the no-op rows measure the
 * machine ("The ceiling of the no-op rows on two cores", docs/PERFORMANCE.md); with a fixed share each, a watcher
 * added brings its own CPU, as a node does, and what is left to compare is the protocol's coordination.
 *
 * cgroup v2 (`cpu.max`) where the unified hierarchy has the cpu controller, else v1 (`cpu.cfs_quota_us`). Needs
 * root, or a delegated group: where neither can be made, `cpuShares` says why and the row is skipped.
 */
export interface CpuShare {
  /** The file a process writes its pid to, to join the group (and take its children with it). */
  procs: string;
}

/** A short period keeps a throttled process's pauses short (a quota of 20 % of 10 ms: 2 ms of CPU every 10 ms). */
const PERIOD_US = 10_000;

interface Hierarchy {
  root: string;
  limit: (dir: string, quotaUs: number) => void;
}

function hierarchy(): Hierarchy | string {
  const v2 = ['/sys/fs/cgroup', '/sys/fs/cgroup/unified'].find((d) => readable(join(d, 'cgroup.controllers')).split(/\s+/).includes('cpu'));
  if (v2) {
    const sub = join(v2, 'cgroup.subtree_control');
    if (!readable(sub).split(/\s+/).includes('cpu')) {
      try {
        writeFileSync(sub, '+cpu');
      } catch (err) {
        return `cannot enable the cpu controller in ${sub}: ${(err as Error).message}`;
      }
    }
    return { root: v2, limit: (dir, quotaUs) => writeFileSync(join(dir, 'cpu.max'), `${quotaUs} ${PERIOD_US}`) };
  }
  const v1 = ['/sys/fs/cgroup/cpu', '/sys/fs/cgroup/cpu,cpuacct'].find((d) => existsSync(join(d, 'cpu.cfs_quota_us')));
  if (v1) {
    return {
      root: v1,
      limit: (dir, quotaUs) => {
        writeFileSync(join(dir, 'cpu.cfs_period_us'), String(PERIOD_US));
        writeFileSync(join(dir, 'cpu.cfs_quota_us'), String(quotaUs));
      },
    };
  }
  return 'no cgroup cpu controller found (neither cgroup v2 with cpu nor v1 cpu.cfs_quota_us)';
}

function readable(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** `n` groups, each limited to `share` of a core; `close` removes them once their processes are gone. Or why not. */
export function cpuShares(n: number, share: number): { shares: CpuShare[]; close: () => void } | string {
  const h = hierarchy();
  if (typeof h === 'string') return h;
  removeLeftovers(h.root);
  const made: string[] = [];
  const close = () => {
    for (const dir of made.splice(0)) {
      try {
        rmdirSync(dir);
      } catch {
        // A process still in it (a leftover): the group goes with the machine's next boot; nothing else depends on it.
      }
    }
  };
  try {
    for (let i = 0; i < n; i++) {
      const dir = join(h.root, `gitbus-bench-${process.pid}-${i}`);
      mkdirSync(dir);
      made.push(dir);
      h.limit(dir, Math.round(share * PERIOD_US));
    }
  } catch (err) {
    close();
    return `cannot make a cgroup with a CPU quota under ${h.root}: ${(err as Error).message} (run the bench as root)`;
  }
  return { shares: made.map((dir) => ({ procs: join(dir, 'cgroup.procs') })), close };
}

/** Groups a bench that was killed left (its pid gone): empty once their watchers ended, so they can be removed. */
function removeLeftovers(root: string): void {
  for (const name of readdirSync(root)) {
    const pid = /^gitbus-bench-(\d+)-\d+$/.exec(name)?.[1];
    if (pid === undefined || alive(Number(pid))) continue;
    try {
      rmdirSync(join(root, name));
    } catch {
      // A process still in it: left for the bench after the one that started it ends.
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
