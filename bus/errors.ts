import { GitbusError, type FileProblem } from '../schemas/errors.js';

export class NoBusError extends GitbusError {
  readonly code = 'NO_BUS';
  constructor(home: string) {
    super(`no bus at ${home}`, 'run "gitbus init" to create a bus or "gitbus join URL" to join one (or pass --home / GITBUS_HOME)', { home });
  }
}

export class HomeInUseError extends GitbusError {
  readonly code = 'HOME_IN_USE';
  constructor(home: string, node: string) {
    super(`${home} already belongs to node "${node}"`, `use another bus home for another node (--home DIR or GITBUS_HOME), or remove ${home} first`, { home, node });
  }
}

/**
 * This home's node left the bus (`gitbus leave`, bus/left-home.ts): its watcher, or anything else that writes its card,
 * would put the node back on the bus unasked.
 */
export class NodeLeftError extends GitbusError {
  readonly code = 'NODE_LEFT';
  constructor(node: string, at: string, home: string, remote: string) {
    super(
      `node ${node} left the bus at ${at} ("gitbus leave"): this home would put its card back on the bus and work as it`,
      `to bring ${node} back, run "gitbus join ${remote}" with this home (its card comes back from ${home}/node.yaml); to retire the machine, remove ${home}, and run "gitbus service uninstall" if a service ran its watcher`,
      { node, at, home },
    );
  }
}

export class BusExistsError extends GitbusError {
  readonly code = 'BUS_EXISTS';
  constructor(remote: string) {
    super(`${remote} already holds a gitbus bus`, `run "gitbus join ${remote}" to add this node to it`, { remote });
  }
}

export class NotABusError extends GitbusError {
  readonly code = 'NOT_A_BUS';
  constructor(remote: string, why: string, fix = `check the URL, or create a bus there with "gitbus init --remote ${remote}"`) {
    super(`${remote} is not a gitbus bus: ${why}`, fix, { remote, why });
  }
}

export class UnsupportedProtocolError extends GitbusError {
  readonly code = 'UNSUPPORTED_PROTOCOL';
  constructor(found: number, known: number) {
    super(`the bus uses protocol ${found}; this gitbus knows protocol ${known} and will not write to it`, 'upgrade gitbus on this node', { found, known });
  }
}

export class BadSettingsError extends GitbusError {
  readonly code = 'BAD_SETTINGS';
  constructor(where: string, reason: string, fix: string) {
    super(`${where}: ${reason}`, fix, { where, reason });
  }
}

export class NodeNameTakenError extends GitbusError {
  readonly code = 'NODE_NAME_TAKEN';
  constructor(node: string) {
    super(`a node named "${node}" is already on this bus`, `pick another name with --node NAME; if this machine replaces that node (rebuilt, reinstalled), take the name over with "gitbus join URL --node ${node} --force"`, { node });
  }
}

/** `join --force` over a node that still proves it is alive: two machines would run as one node. */
export class NodeLiveError extends GitbusError {
  readonly code = 'NODE_LIVE';
  constructor(node: string, beatAgeMs: number, leaseMs: number, lease: string, beatAt?: Date, remote = '<remote>') {
    // A beat dated ahead of this clock never ages into the past by waiting (a forged year 9999, or a machine whose
    // clock runs far ahead): the fix is the clock or the ref, not patience.
    if (beatAgeMs < 0) {
      const at = beatAt ? ` (${beatAt.toISOString()})` : '';
      super(
        `node "${node}" may be live: its heartbeat is dated in the future${at}, ahead of this machine's clock by ${formatAhead(-beatAgeMs)}; taking its name over would make two machines one node`,
        `correct whichever clock is wrong (this machine's, or the old node's: its watcher then beats with the right time); if the old machine is gone, delete its heartbeat with "git push ${remote} :refs/gitbus/heartbeats/${node}" and run join --force again; or pick another name with --node NAME`,
        { node, beatAgeMs, leaseMs, ...(beatAt ? { beatAt: beatAt.toISOString() } : {}) },
      );
      return;
    }
    super(
      `node "${node}" is live: its heartbeat is ${Math.round(beatAgeMs / 1000)}s old, within the lease (${lease}); taking its name over would make two machines one node`,
      `stop the watcher on the old machine (or make sure it is gone), wait until its heartbeat is older than ${lease}, then run join --force again; or pick another name with --node NAME`,
      { node, beatAgeMs, leaseMs },
    );
  }
}

function formatAhead(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s}s`;
  if (s < 2 * 3600) return `${Math.round(s / 60)}m`;
  if (s < 2 * 86_400) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86_400)}d`;
}

/** The command that dispatches a task to a node that cannot take it yet: its --force is worded for it. */
export type DispatchedBy = 'dispatch' | 'run';

/** "add --force to dispatch anyway (what then)", as the command that refused says it. Pure. */
function forceAnyway(node: string, by: DispatchedBy, then: string): string {
  return by === 'run' ? `add --force to run it anyway (gitbus run --force ${node} -- CMD ...; ${then})` : `add --force to dispatch anyway (${then})`;
}

/** `dispatch --to` / `run` naming a node that is not on the bus: the task would wait forever. */
export class UnknownNodeError extends GitbusError {
  readonly code = 'UNKNOWN_NODE';
  constructor(node: string, known: string[], wanted: DispatchedBy | 'leave' = 'dispatch') {
    super(
      `no node named "${node}" is on this bus${known.length ? ` (nodes: ${known.slice(0, 10).join(', ')}${known.length > 10 ? ', ...' : ''})` : ''}`,
      wanted === 'leave'
        ? 'check the name ("gitbus status" lists the nodes): it has no card on main and no heartbeat ref, so it has left already or never joined'
        : `check the name ("gitbus status" lists the nodes), join that machine first ("gitbus join URL --node ${node}" on it), or ${forceAnyway(node, wanted, 'the task waits until such a node joins')}`,
      { node, known },
    );
  }
}

/**
 * `gitbus leave`: the heartbeat ref could not be deleted: the remote refused (a host rule protecting refs/gitbus/),
 * or, on a host that applies the card's removal and the deletion one after the other, the node beat again in
 * between or the second push failed. `done`: what the first push did already (the card, the claims released).
 */
export class HeartbeatLeftError extends GitbusError {
  readonly code = 'HEARTBEAT_LEFT';
  constructor(node: string, self: boolean, why: string, cause: 'refused' | 'beat' | 'failed', done: { card: boolean; released: string[] }) {
    const again = `"gitbus leave${self ? '' : ` --node ${node} --force`}" again: it removes what is left`;
    const fix = {
      refused: `let this remote delete refs under refs/gitbus/ (a protected-ref rule on the host), then run ${again}`,
      beat: self ? `run ${again}; if it keeps failing, check that no watcher of this node runs elsewhere` : `a node that beat again still runs: stop its watcher, then run ${again}`,
      failed: `check that the remote is reachable, then run ${again}`,
    }[cause];
    const gone = done.card || done.released.length > 0 ? `; its card was removed${done.released.length ? ` and ${done.released.join(', ')} released` : ''}` : '';
    super(`node "${node}": its heartbeat ref refs/gitbus/heartbeats/${node} could not be deleted (${why})${gone}`, fix, { node, cause, card: done.card, released: done.released });
  }
}

/**
 * What this home has watched of a heartbeat that looks dead by the node's own clock: `first`, it sees the value for
 * the first time; `moved`, the value changed since this home last listed it; `still`, it has stood still for
 * `stillMs`, less than the lease (or, for an idle node, than its announced interval and a lease).
 */
export interface WatchedBeat {
  seen: 'first' | 'moved' | 'still';
  stillMs: number;
}

/** `gitbus leave --node NAME` for a node that still beats: its watcher would go on running as a node with no card. */
export class NodeStillLiveError extends GitbusError {
  readonly code = 'NODE_STILL_LIVE';
  /** `watched`: the node looks dead only by its own clock, which decides no removal (docs/PROTOCOL.md §5a). */
  constructor(node: string, liveness: string, beatAgeMs: number | null, lease: string, watched?: WatchedBeat) {
    if (!watched) {
      super(
        `node "${node}" is ${liveness}${beatAgeMs === null ? '' : `: its last heartbeat is ${Math.max(0, Math.round(beatAgeMs / 1000))}s old`} (lease ${lease}); removing it would leave its watcher running as a node the bus no longer lists`,
        `run "gitbus leave" on that machine (it stops nothing: stop its watcher first, e.g. "gitbus service uninstall"); if the machine is gone, add --force`,
        { node, liveness, beatAgeMs },
      );
      return;
    }
    const seen =
      watched.seen === 'first'
        ? 'this home sees that heartbeat for the first time'
        : watched.seen === 'moved'
          ? 'that heartbeat moved since this home last looked'
          : `this home has watched that heartbeat stand still for only ${Math.round(watched.stillMs / 1000)}s`;
    const own = beatAgeMs === null ? 'its heartbeat looks old' : `by its own clock its last heartbeat is ${Math.max(0, Math.round(beatAgeMs / 1000))}s old`;
    super(
      `node "${node}" may still be running: ${own}, but ${seen}; a removal counts only silence this home watched for longer than the lease (${lease}) by its own clock, never another machine's clock, and removing a running node would leave its watcher running as a node the bus no longer lists`,
      `run "gitbus leave --node ${node}" again once this home has seen its heartbeat stand still for longer than the lease (${lease}): it remembers what it saw; if the machine is gone, add --force`,
      { node, liveness, beatAgeMs, watched: watched.seen, stillMs: watched.stillMs },
    );
  }
}

/** `dispatch --to` / `run` naming a node whose card says it cannot run the task: it would wait forever. */
export class NodeCannotRunError extends GitbusError {
  readonly code = 'NODE_CANNOT_RUN';
  /** `refuses`: only the node's policy stands in the way, so a forced task is answered `failed` rather than left waiting. */
  constructor(node: string, reasons: string[], fix: string, refuses = false, by: DispatchedBy = 'dispatch') {
    super(`node ${node} cannot run this task: ${reasons.join('; ')}`, `${fix}, or ${forceAnyway(node, by, refuses ? 'the node then answers it failed with the reason' : 'the task waits until the node can run it')}`, { node, reasons, refuses });
  }
}

export class InvalidNameError extends GitbusError {
  readonly code = 'INVALID_NAME';
  constructor(what: string, value: string, rule: string) {
    super(`"${value}" is not a valid ${what}`, `use ${rule}`, { what, value, rule });
  }
}

export class UnknownTaskError extends GitbusError {
  readonly code = 'UNKNOWN_TASK';
  constructor(ref: string, candidates: string[] = []) {
    const ambiguous = candidates.length > 1;
    super(
      ambiguous ? `"${ref}" matches ${candidates.length} tasks: ${candidates.slice(0, 5).join(', ')}` : `no task "${ref}" on this bus`,
      ambiguous ? 'give more characters of the id' : 'list tasks with "gitbus status"; archived tasks are found by their full id',
      { ref, candidates },
    );
  }
}

export class TaskStateError extends GitbusError {
  readonly code = 'TASK_STATE';
  constructor(id: string, state: string, wanted: string, fix: string, extra: Record<string, unknown> = {}) {
    super(`task ${id} is ${state}; cannot ${wanted}`, fix, { id, state, wanted, ...extra });
  }
}

export class NotClaimableError extends GitbusError {
  readonly code = 'NOT_CLAIMABLE';
  constructor(id: string, reason: string, fix: string) {
    super(`task ${id} cannot be claimed by this node: ${reason}`, fix, { id, reason });
  }
}

export class NothingClaimableError extends GitbusError {
  readonly code = 'NOTHING_CLAIMABLE';
  /** `refused`: tasks this node's policy (node.yaml `policy:`) keeps it from claiming, with the reason. */
  constructor(node: string, pending: number, refused: { id: string; reason: string; fix: string }[] = []) {
    const others = pending - refused.length;
    const why = [others > 0 ? `${others} live task(s) are for other nodes or labels, blocked, or invalid` : '', refused.length ? `${refused.length} refused by this node's policy: ${refused.slice(0, 3).map((r) => `${r.id} (${r.reason.replace(/^this node's policy refuses it: /, '')})`).join('; ')}${refused.length > 3 ? '; …' : ''}` : ''].filter(Boolean);
    super(`nothing this node (${node}) may claim${why.length ? ` (${why.join('; ')})` : ''}`, refused.length ? 'dispatch such tasks to a node whose policy allows them, or widen "policy" in this node\'s node.yaml; "gitbus status" shows why each task waits' : 'dispatch work with "gitbus dispatch", or see why tasks wait with "gitbus status"', { node, pending, refused });
  }
}

/**
 * A task that is `invalid` asked to do what only a task that runs or ended can: be claimed (it never runs), or be
 * resumed (it does not run again by itself, and how it ended is unknown). `problems` say why it is invalid, each with
 * its fix; `refusal` says what is refused, after "task ID is invalid and".
 */
export class InvalidTaskError extends GitbusError {
  readonly code = 'INVALID_TASK';
  constructor(id: string, problems: FileProblem[], refusal = 'will never run', fix = `fix its handoff file (see "gitbus lint"), or cancel it with "gitbus cancel ${id}"`) {
    const reasons = problems.map((p) => `${p.path}${p.field ? ` ${p.field}` : ''}: ${p.reason}`);
    super(`task ${id} is invalid and ${refusal}${reasons.length ? `: ${reasons.join('; ')}` : ''}`, fix, { id, reasons, problems });
  }
}

export class ContentionError extends GitbusError {
  readonly code = 'CONTENTION';
  constructor(op: string, attempts: number, ms: number) {
    super(`${op}: lost the race for main ${attempts} times in a row (${ms} ms): other writers kept moving it`, 'try again; if this persists, something is pushing to main in a loop (look at `git log` of the remote)', { op, attempts, ms });
  }
}

export class LockTimeoutError extends GitbusError {
  readonly code = 'LOCK_TIMEOUT';
  constructor(path: string, holder: string, ms: number) {
    super(`the node's clone is locked by ${holder} (waited ${ms} ms)`, `wait for that process to finish; if it is gone, delete ${path}`, { path, holder, ms });
  }
}

export class InputError extends GitbusError {
  readonly code = 'BAD_INPUT';
  constructor(message: string, fix: string, data: Record<string, unknown> = {}) {
    super(message, fix, data);
  }
}

/** `gitbus attach`: the task has no holder running it now. */
export class TaskNotRunningError extends GitbusError {
  readonly code = 'TASK_NOT_RUNNING';
  constructor(id: string, state: string) {
    super(`task ${id} is ${state}, not running: there is no session to attach to`, state === 'pending' || state === 'blocked' ? `wait until a node claims it ("gitbus status" shows the holder), then attach again` : `see its output with "gitbus logs ${id}"`, { id, state });
  }
}

/**
 * `gitbus attach`: the holder's card gives a host name that is no host name, such as `-oProxyCommand=...`, which ssh
 * would take for an option and run; the card is anyone's with push access to write.
 */
export class AttachHostError extends GitbusError {
  readonly code = 'ATTACH_HOST_REFUSED';
  /** `attachCommand`: the tmux command to run on the node, with the card's socket when it has one. */
  constructor(id: string, node: string, host: string, attachCommand: string) {
    super(
      `task ${id} runs on ${node}, whose card nodes/${node}.md gives host.hostname ${JSON.stringify(host)}: not a host name (letters, digits, ".", "-" and "_", starting with a letter or digit), so it is not given to ssh, which could read it as an option`,
      `reach ${node} as you know it and run "${attachCommand}" there; then find who wrote the card (git log -- nodes/${node}.md in a clone of the bus): ${node}'s watcher writes its real host name as it starts`,
      { id, node, host },
    );
  }
}

/** `gitbus attach`: the holder's card names a tmux socket that is no absolute path (tmux could read it as an option). */
export class AttachSocketError extends GitbusError {
  readonly code = 'ATTACH_SOCKET_REFUSED';
  constructor(id: string, node: string, socket: string, session: string) {
    super(
      `task ${id} runs on ${node}, whose card nodes/${node}.md gives tmuxSocket ${JSON.stringify(socket)}: not an absolute path, so it is not given to tmux, which could read it as an option`,
      `on ${node}, find the socket its watcher runs tmux on (GITBUS_TMUX_SOCKET in the watcher's environment; none: the default server) and run "tmux -S SOCKET attach -t =${session}:" there; then find who wrote the card (git log -- nodes/${node}.md in a clone of the bus): ${node}'s watcher writes its real socket as it starts`,
      { id, node, socket },
    );
  }
}

/** `gitbus attach`: the task's runner has no tmux session. */
export class NotATmuxTaskError extends GitbusError {
  readonly code = 'NOT_A_TMUX_TASK';
  constructor(id: string, runner: string) {
    super(`task ${id} runs with the ${runner} runner, which has no tmux session to attach to`, `follow its output with "gitbus logs ${id} --follow"; only tasks with runner tmux (or claude with claude.interactive: true) can be attached to`, { id, runner });
  }
}

/**
 * `gitbus progress` / `gitbus task` outside a task: the runners tell a task who it is in its environment
 * (GITBUS_TASK_ID, GITBUS_ATTEMPT, GITBUS_HOME), and this process has none, or names a run that is not on.
 */
export class NotInTaskError extends GitbusError {
  readonly code = 'NOT_IN_TASK';
  constructor(why: string, fix: string, data: Record<string, unknown> = {}) {
    super(why, fix, data);
  }
}

/** A uid with no passwd entry and no USER or LOGNAME: nothing names the user SSH logs in as by default. */
export class NoUserNameError extends GitbusError {
  readonly code = 'NO_USER_NAME';
  constructor(cause: unknown) {
    const uid = typeof process.getuid === 'function' ? process.getuid() : null;
    super(
      `this user has no name: USER and LOGNAME are not set and the passwd file has no entry for uid ${uid ?? '?'}`,
      'set USER, or name the SSH user in the remote (user@host:path) or in ~/.ssh/config (User)',
      { uid },
      { cause },
    );
  }
}

export class NoUserHomeError extends GitbusError {
  readonly code = 'NO_USER_HOME';
  constructor(cause: unknown) {
    const uid = typeof process.getuid === 'function' ? process.getuid() : null;
    super(
      `this user has no home folder: HOME is not set and the passwd file has no entry for uid ${uid ?? '?'}`,
      "set HOME to a folder of this user's (for the bus home alone, --home or GITBUS_HOME will do)",
      { uid },
      { cause },
    );
  }
}

/**
 * A commit would write where something of another kind is: a file where the repository has a folder, a link or a
 * submodule, or a folder where it has a file. Writing it would delete what is there, which gitbus never does.
 */
export class PathOccupiedError extends GitbusError {
  readonly code = 'PATH_OCCUPIED';
  /** `branch`: a branch other than main (the archive), which lint does not read and doctor's archive.layout does. */
  constructor(
    readonly path: string,
    readonly what: string,
    readonly writing: 'a file' | 'a folder',
    branch?: string,
  ) {
    super(
      `${path} is ${what} ${branch ? `on ${branch}` : 'in the repository'}, where gitbus writes ${writing}; writing it would delete what is there`,
      branch
        ? `move or remove ${path} on ${branch} (git rm in a clone of that branch, commit, push), then run the command again; "gitbus doctor" names every such path with the commands (archive.layout)`
        : `move or remove ${path} in the bus repository (git rm, commit, push), then run the command again; "gitbus lint" names it`,
      { path, what, ...(branch ? { branch } : {}) },
    );
  }
}

/** A commit would replace a task's file (a claim, a response, ...), which is written once and never changed. */
export class WrittenOnceError extends GitbusError {
  readonly code = 'WRITTEN_ONCE';
  constructor(path: string) {
    super(
      `${path} is already on the bus, and a task's files are written once: this would replace it`,
      `leave it as it is; if this node's view of the task is wrong (a file it ignores as forged, a trust root pinned while its watcher ran), run "gitbus status" on this node and restart its watcher`,
      { path },
    );
  }
}

/** `dispatch --id` of an id the bus has, live or archived: ids are never reused. */
export class TaskIdTakenError extends GitbusError {
  readonly code = 'TASK_ID_TAKEN';
  constructor(id: string, why: string) {
    super(why, 'choose another id, or leave --id out to get a generated one', { id, flag: '--id' });
  }
}

