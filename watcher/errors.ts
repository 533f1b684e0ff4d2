import { GitbusError } from '../schemas/errors.js';

export class NoRunnersError extends GitbusError {
  readonly code = 'NO_RUNNERS';
  constructor(node: string, home: string) {
    super(
      `node ${node} has no runners enabled and subscribes to no environment profile, so its watcher would never do anything`,
      `enable them: add "runners: [shell]" to ${home}/node.yaml (running commands from the bus is opt-in), or subscribe to a profile: env: [{profile: NAME, apply: auto}]`,
      { node },
    );
  }
}

/** `gitbus watch` on a home whose watcher is already running (watcher/watcher-lock.ts). */
export class WatcherRunningError extends GitbusError {
  readonly code = 'WATCHER_RUNNING';
  constructor(home: string, lock: string, owner: { pid: number; host: string; since: string; how: string } | null) {
    super(
      owner
        ? `a watcher is already running for ${home}: pid ${owner.pid} on ${owner.host}, since ${owner.since} (${owner.how})`
        : `a watcher is already running for ${home} (${lock} is held, but unreadable)`,
      owner
        ? `one watcher per home: stop that one first (kill ${owner.pid}; a service with its service manager, or "gitbus service uninstall"); if it is gone, delete ${lock}`
        : `one watcher per home: stop the other watcher first; if there is none, delete ${lock}`,
      owner ? { home, lock, ...owner } : { home, lock },
    );
  }
}

/** Every runner node.yaml enables needs a program this machine does not have (watcher/runner-binaries.ts). */
export class RunnersMissingError extends GitbusError {
  readonly code = 'RUNNERS_MISSING';
  constructor(node: string, missing: readonly { runner: string; binary: string; fix: string }[]) {
    super(
      `node ${node} cannot start any of its runners: ${missing.map((m) => `${m.runner} needs "${m.binary}", which is not on PATH`).join('; ')}`,
      missing.map((m) => m.fix).join('; '),
      { node, missing: missing.map((m) => ({ runner: m.runner, binary: m.binary })) },
    );
  }
}

/** A folder the watcher would wake on could not be watched (watcher/wake-on-change.ts): its changes wait for the poll. */
export class FileEventsUnavailableError extends GitbusError {
  readonly code = 'FILE_EVENTS_UNAVAILABLE';
  constructor(folder: string, why: string) {
    super(
      `file events for ${folder} are not available (${why}): the watcher sees its changes at the next poll instead of at once`,
      why === 'ENOSPC' || why === 'EMFILE'
        ? 'raise the kernel\'s limits on file watches (sysctl fs.inotify.max_user_watches and fs.inotify.max_user_instances) and restart the watcher, or set GITBUS_WATCH_POLL=1 to poll the refs'
        : 'check that the folder is readable by this user, or set GITBUS_WATCH_POLL=1 to poll the refs',
      { folder, why },
    );
  }
}
