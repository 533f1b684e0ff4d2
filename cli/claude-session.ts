import { recordDispatch, validSession } from '../claude/session-ledger.js';
import type { TaskState } from '../bus/model/types.js';
import { note } from './output.js';

/**
 * Run by Claude Code's Bash tool, a command that puts tasks on the bus records them under the Claude session
 * (CLAUDE_CODE_SESSION_ID), so that the session's hooks tell it when they end (claude/session-ledger.ts).
 * `told`: the command itself already showed how the task ended (`--wait`).
 */
export function recordForClaudeSession(home: string, tasks: { id: string; title: string; told?: TaskState }[], env: NodeJS.ProcessEnv = process.env): void {
  const session = env['CLAUDE_CODE_SESSION_ID'];
  if (!validSession(session)) return;
  const pid = Number(env['CLAUDE_PID']);
  try {
    recordDispatch(home, session, tasks, process.cwd(), Number.isSafeInteger(pid) && pid > 0 ? pid : undefined);
  } catch (err) {
    // The task is on the bus; only the hear-back for this session is lost.
    note(`gitbus: warning: could not record the task for this Claude Code session (${(err as Error).message}); gitbus collect --node still lists it`);
  }
}
