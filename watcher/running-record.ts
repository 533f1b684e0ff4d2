import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive } from '../bus/lock.js';
import { writeFileAtomicSync } from '../bus/local-io.js';
import { processStartTicks } from './watcher-lock.js';

/**
 * A file per running task in `<home>/running/`, naming its process group: what a watcher restarted after a
 * crash needs to stop the runs its predecessor left behind before it gives their claims back.
 */
export interface RunningRecord {
  id: string;
  attempt: number;
  pid: number;
  /**
   * Which run the pid was (Linux, where /proc says): the machine's boot and the process's start in clock ticks since
   * it. After a reboot, or once the pid is taken by another process, the record names no run of ours, and a
   * restarted watcher must not kill the group that now has that id (a service started at boot, as root a system one).
   */
  boot?: string;
  started?: string;
}

const dirOf = (home: string) => join(home, 'running');

export function recordRunning(home: string, run: RunningRecord): void {
  const boot = bootId();
  const started = processStart(run.pid);
  const r: RunningRecord = { ...run, ...(boot !== null && started !== null ? { boot, started } : {}) };
  mkdirSync(dirOf(home), { recursive: true });
  // Written aside and renamed: a watcher killed mid-write must not leave a record its successor cannot read, which
  // would leave the run it names going.
  const name = `${r.id}.${r.attempt}.json`;
  // A write that fails (a run filling the disk as it starts) takes its temp file with it.
  writeFileAtomicSync(join(dirOf(home), name), JSON.stringify(r), join(dirOf(home), `.${name}.${process.pid}.tmp`));
}

export function forgetRunning(home: string, id: string, attempt: number): void {
  rmSync(join(dirOf(home), `${id}.${attempt}.json`), { force: true });
}

export function listRunning(home: string): RunningRecord[] {
  let names: string[];
  try {
    names = readdirSync(dirOf(home));
  } catch {
    return [];
  }
  const out: RunningRecord[] = [];
  for (const name of names) {
    if (!name.endsWith('.json') || name.startsWith('.')) continue;
    try {
      const r = JSON.parse(readFileSync(join(dirOf(home), name), 'utf8')) as RunningRecord;
      if (typeof r.pid === 'number' && typeof r.id === 'string' && typeof r.attempt === 'number') out.push(r);
    } catch {
      // A record cut short by the crash: nothing to stop.
    }
  }
  return out;
}

/**
 * Whether a recorded run still goes: its process group (the one killLeftover stops) has a process left; the group
 * outlives its leader while anything the command started runs. A record whose group is gone names a run that is
 * over: left by a watcher that died (SIGKILL, a crash) and was not started again, or about to be forgotten by one
 * delivering its result. A pid taken again by another process is told apart by its start (when the record has it,
 * on Linux); without that, an unrelated group of that id counts as still running: the safe side.
 */
export function stillRuns(r: RunningRecord): boolean {
  // isAlive with a negative pid asks about the group (kill(2)); 0 and 1 would name this process's group or every process.
  return Number.isInteger(r.pid) && r.pid > 1 && !notTheRun(r) && isAlive(-r.pid);
}

/**
 * The record's pid no longer names its run: recorded before this machine's last boot, or its leader's pid now a
 * process started at another time (an id Linux gives again only once the old group is gone). A leader gone, its
 * group may live on (what it started): still the run's, since its id cannot be given again meanwhile.
 */
function notTheRun(r: RunningRecord): boolean {
  if (r.boot !== undefined && r.boot !== bootId()) return true;
  if (r.started === undefined) return false;
  const now = processStart(r.pid);
  return now !== null && now !== r.started;
}

/** The runs recorded in this home that still go, by claim (`<id>.<attempt>`) -> process group. */
export function runsHere(home: string): Map<string, number> {
  return new Map(listRunning(home).filter(stillRuns).map((r) => [`${r.id}.${r.attempt}`, r.pid]));
}

/**
 * Stops a leftover process group (SIGKILL: its watcher is gone, nobody is waiting for a clean exit), unless the
 * record shows the group is no longer the run's (notTheRun). Says which.
 */
export function killLeftover(r: RunningRecord): 'killed' | 'gone' | 'not-ours' {
  if (!Number.isInteger(r.pid) || r.pid <= 1) return 'gone';
  if (notTheRun(r)) return 'not-ours';
  try {
    process.kill(-r.pid, 'SIGKILL');
    return 'killed';
  } catch {
    return 'gone';
  }
}

/** This boot of the machine (Linux), or null where /proc does not say. */
export function bootId(): string | null {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
  } catch {
    return null;
  }
}

/** When a process started (watcher-lock.ts processStartTicks), as the record keeps it; null without such a process or /proc. */
export function processStart(pid: number): string | null {
  const ticks = processStartTicks(pid);
  return ticks === null ? null : String(ticks);
}
