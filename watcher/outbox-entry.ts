import type { ClaimResult } from '../bus/ops/claim.js';
import type { OutboxEntry } from './outbox.js';
import { cancelReason, outcomeSummary, type CancelledBy } from './run-task.js';
import type { RunOutcome } from './runners/runner.js';

/** How a run ended, as the result waiting in the outbox: the response's input, and a project's branch to push first. Pure. */
export function outboxEntryFor(task: ClaimResult, outcome: RunOutcome, cancelledBy: CancelledBy | null, now: Date = new Date()): OutboxEntry {
  const by = outcome.status === 'cancelled' ? cancelledBy : null;
  const reason = by ? cancelReason(by, outcome.reason) : outcome.reason;
  return {
    id: task.id,
    attempt: task.attempt,
    queuedAt: now.toISOString(),
    input: {
      id: task.id,
      status: outcome.status,
      summary: outcomeSummary(task, outcome, by ?? undefined),
      output: outcome.outputTail,
      ...(outcome.log ? { log: outcome.log } : {}),
      exitCode: outcome.exitCode,
      started: outcome.started.toISOString(),
      durationMs: outcome.finished.getTime() - outcome.started.getTime(),
      ...(reason ? { reason } : {}),
      ...(outcome.resultText !== undefined ? { results: outcome.resultText } : {}),
      ...(outcome.claude ? { claude: outcome.claude } : {}),
      ...(outcome.icecc ? { icecc: outcome.icecc } : {}),
      ...(outcome.project ? { project: outcome.project } : {}),
      ...(outcome.projectStat !== undefined ? { projectStat: outcome.projectStat } : {}),
      ...(outcome.baseMissing ? { baseMissing: true } : {}),
      ...(outcome.projectWarnings?.length ? { projectWarnings: outcome.projectWarnings } : {}),
      ...(outcome.uncommitted ? { uncommitted: outcome.uncommitted, ...(outcome.uncommittedWhy ? { uncommittedWhy: outcome.uncommittedWhy } : {}) } : {}),
    },
    ...(outcome.push ? { push: outcome.push } : {}),
  };
}
