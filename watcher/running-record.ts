import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive } from '../bus/lock.js';
import { writeFileAtomicSync } from '../bus/local-io.js';

/**
 * A file per running task in `<home>/running/`, naming its process group: what a watcher restarted after a
 * crash needs to stop the runs its predecessor left behind before it gives their claims back.
 */
export interface RunningRecord {
  id: string;
  attempt: number;
  pid: number;
}

const dirOf = (home: string) => join(home, 'running');

export function recordRunning(home: string, r: RunningRecord): void {
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
 * delivering its result. A pid taken again by an unrelated group counts as still running: the safe side.
 */
export function stillRuns(r: RunningRecord): boolean {
  // isAlive with a negative pid asks about the group (kill(2)); 0 and 1 would name this process's group or every process.
  return Number.isInteger(r.pid) && r.pid > 1 && isAlive(-r.pid);
}

/** Stops a leftover process group (SIGKILL: its watcher is gone, nobody is waiting for a clean exit). */
export function killLeftover(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}
