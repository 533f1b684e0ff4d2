import type { Handoff } from '../../schemas/handoff.js';

/*
 * A task with neither a runner nor a command is a manual one (schemas/field-limits.ts effectiveRunner): no watcher
 * runs it, a person or an agent claims it by hand. That is the default of `gitbus dispatch "title"`, and a person
 * who meant a node's watcher to run it saw it sit `pending` with nothing said (what dispatch, status and the wait
 * say of it is worded here, once).
 */

/** A manual task its dispatch did not ask for as such: no `runner`, no `command`. Pure. */
export function implicitManual(h: Pick<Handoff, 'runner' | 'command'>): boolean {
  return h.runner === undefined && h.command === undefined;
}

/**
 * The flags that have node `node`'s watcher run a task, for the runners its card offers (`manual` and `merge` are no
 * such runners: a merge task is an integration's); null when it offers none of them. Pure.
 */
export function watcherRunnerFix(offered: readonly string[]): string | null {
  const flags = offered.flatMap((r) => (r === 'claude' ? ['--runner claude (an agent does the body)'] : r === 'shell' ? ['--command "CMD" (a shell line)'] : r === 'tmux' || r === 'icecc' ? [`--runner ${r} --command "CMD"`] : []));
  return flags.length === 0 ? null : flags.join(', or ');
}

/** The runners a card offers that a watcher runs by itself. Pure. */
export function watcherRunners(offered: readonly string[] | undefined): string[] {
  return (offered ?? []).filter((r) => r !== 'manual' && r !== 'merge');
}

/**
 * Why a manual task sits pending, as `status` says it under the task (`waits:`): nobody's watcher takes it, a person
 * or an agent does, and, addressed to a node whose watcher runs other runners, how to have it run there. Pure.
 */
export function manualWaits(to: string | undefined, offered: readonly string[] | undefined): string {
  const runs = watcherRunners(offered);
  const fix = to !== undefined ? watcherRunnerFix(runs) : null;
  const there = to !== undefined && fix !== null ? `; node ${to}'s watcher runs ${runs.join(', ')} tasks, not manual ones: dispatch it again with ${fix} for ${to} to run it` : '';
  return `a manual task, which no watcher runs: it waits for a person or an agent to claim it ("gitbus claim <id>"${to !== undefined ? ` on node ${to}` : ''}, or claim_next from Claude Code) and answer it ("gitbus respond <id>")${there}`;
}

/** What `dispatch` says of a manual task it put on the bus, on stderr: who takes it, and how. Pure. */
export function manualDispatchNote(id: string, to: string | undefined): string {
  return `${id} is a manual task (no --runner or --command): no watcher runs it; a person or an agent takes it with "gitbus claim ${id}"${to !== undefined ? ` on ${to}` : ''} (or claim_next from Claude Code) and answers it with "gitbus respond ${id}"; for a node's watcher to run it, dispatch it with --runner claude (an agent does it) or --command "CMD" (a shell line)`;
}

/**
 * The warning of a manual task its dispatch did not ask for, addressed to a node whose watcher would run it with a
 * runner: most likely that runner was meant. Null when the node's card offers no runner a watcher runs. Pure.
 */
export function manualToWatcherWarning(to: string, offered: readonly string[] | undefined): string | null {
  const runs = watcherRunners(offered);
  const fix = watcherRunnerFix(runs);
  if (fix === null) return null;
  return `${watcherLead(to)}${runs.join(', ')} tasks, and this is a manual task (neither --runner nor --command was given): ${to}'s watcher will not run it, it waits for someone to claim it by hand; for ${to} to run it, cancel it and dispatch it with ${fix}`;
}

const watcherLead = (to: string) => `node ${to}'s watcher runs `;

/** Whether `warning` is manualToWatcherWarning's for node `to`. Pure. */
export function isManualToWatcherWarning(warning: string, to: string): boolean {
  return warning.startsWith(watcherLead(to));
}
