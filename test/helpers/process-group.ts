import { execFileSync } from 'node:child_process';

/** Whether any process of the group `pid` leads still lives (signal 0 signals nothing). */
export function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The command lines of the processes of group `pid`, for a test's condition and a timeout's message. */
export function groupArgs(pid: number): string {
  try {
    return execFileSync('ps', ['-o', 'pid,ppid,args', '-g', String(pid)], { encoding: 'utf8' });
  } catch (err) {
    return String(err);
  }
}

/** Whether a process with this command line runs on the machine (a test's own unique `sleep N`). */
export function running(args: string): boolean {
  return execFileSync('ps', ['-eo', 'args='], { encoding: 'utf8' }).split('\n').some((l) => l.trim() === args);
}
