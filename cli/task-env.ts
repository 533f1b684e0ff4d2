import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { NotInTaskError } from '../bus/errors.js';
import { TASK_ID_RE } from '../schemas/ids.js';

/** The task this process runs in, as its runner told it (watcher/runners/runner.ts, taskEnv). */
export interface TaskSelf {
  id: string;
  attempt: number;
  home: string;
  node: string | null;
  worktree: string | null;
  branch: string | null;
  baseCommit: string | null;
  repo: string | null;
}

/** Who "I" am inside a task: GITBUS_TASK_ID and GITBUS_ATTEMPT from the environment, the home from --home or GITBUS_HOME. */
export function taskSelf(home: string, env: NodeJS.ProcessEnv = process.env): TaskSelf {
  const id = env['GITBUS_TASK_ID'];
  const attemptText = env['GITBUS_ATTEMPT'];
  if (!id) {
    throw new NotInTaskError('this process is not inside a gitbus task: GITBUS_TASK_ID is not set', 'run it from a task a watcher started (its runners set GITBUS_TASK_ID, GITBUS_ATTEMPT and GITBUS_HOME); from outside, read a task with "gitbus show ID"');
  }
  if (!TASK_ID_RE.test(id)) throw new NotInTaskError(`GITBUS_TASK_ID ${JSON.stringify(id)} is not a task id`, 'leave GITBUS_TASK_ID as the runner set it', { id });
  const attempt = Number(attemptText);
  if (!attemptText || !Number.isInteger(attempt) || attempt < 1) throw new NotInTaskError(`GITBUS_ATTEMPT ${JSON.stringify(attemptText ?? '')} is not an attempt number`, 'leave GITBUS_ATTEMPT as the runner set it', { id });
  const opt = (k: string) => (env[k] && env[k] !== '' ? (env[k] as string) : null);
  return { id, attempt, home, node: opt('GITBUS_NODE'), worktree: opt('GITBUS_WORKTREE'), branch: opt('GITBUS_BRANCH'), baseCommit: opt('GITBUS_BASE_COMMIT'), repo: opt('GITBUS_REPO') };
}

/** Whether the watcher of `home` runs this attempt now (its record in `<home>/running/`, watcher/running-record.ts). */
export function runsHere(self: Pick<TaskSelf, 'id' | 'attempt' | 'home'>): boolean {
  return existsSync(join(self.home, 'running', `${self.id}.${self.attempt}.json`));
}
