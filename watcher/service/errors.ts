import { GitbusError } from '../../schemas/errors.js';

/** `gitbus service` knows systemd (Linux) and launchd (macOS) only. */
export class ServiceUnsupportedPlatformError extends GitbusError {
  readonly code = 'SERVICE_UNSUPPORTED_PLATFORM';
  constructor(platform: string, home: string) {
    super(
      `gitbus service installs the watcher with systemd (Linux) or launchd (macOS); this machine runs ${platform}`,
      `run "gitbus watch --home ${home}" under this system's own supervisor instead (on Windows: inside WSL with systemd enabled, or from Task Scheduler)`,
      { platform, home },
    );
  }
}

/** A path that a unit file or a plist cannot hold (control characters, a newline). */
export class ServicePathError extends GitbusError {
  readonly code = 'SERVICE_BAD_PATH';
  constructor(what: string, value: string, reason: string) {
    super(`the ${what} ${JSON.stringify(value)} cannot be written into a service file: ${reason}`, `use a ${what} without newlines, control characters, trailing spaces or a trailing backslash`, { what, value, reason });
  }
}

/**
 * The service file was written, but the service manager could not be reached (no user systemd: a container,
 * an SSH session without lingering; no GUI session for launchd), so nothing was started.
 */
export class ServiceManagerUnavailableError extends GitbusError {
  readonly code = 'SERVICE_MANAGER_UNAVAILABLE';
  constructor(opts: { manager: string; file: string; name: string; reason: string; commands: string[]; fix: string; notes?: string[] }) {
    const notes = opts.notes ?? [];
    super(`wrote ${opts.file}, but ${opts.manager} is not available here (${opts.reason}), so the watcher was not started`, [opts.fix, ...notes.map((n) => `  note: ${n}`)].join('\n'), {
      manager: opts.manager,
      file: opts.file,
      name: opts.name,
      reason: opts.reason,
      written: true,
      commands: opts.commands,
      notes,
    });
  }
}

/** A service manager command failed (or did not finish in time). */
export class ServiceCommandError extends GitbusError {
  readonly code = 'SERVICE_COMMAND_FAILED';
  constructor(opts: { command: string; output: string; file: string; written: boolean; fix: string }) {
    super(
      `"${opts.command}" failed: ${opts.output || 'no output'}${opts.written ? ` (${opts.file} was written)` : ''}`,
      opts.fix,
      { command: opts.command, output: opts.output, file: opts.file, written: opts.written },
    );
  }
}

/** The path of bin/gitbus.js could not be found (gitbus runs from an unusual layout). */
export class ServiceEntryNotFoundError extends GitbusError {
  readonly code = 'SERVICE_NO_ENTRY';
  constructor(searched: string) {
    super(`cannot find gitbus's bin/gitbus.js (searched from ${searched})`, 'run gitbus from its package (bin/gitbus.js next to dist/), e.g. after "npm link" or "npm install -g"', { searched });
  }
}

/**
 * The service file for this node's name runs another home's watcher: two homes on one machine whose nodes share a
 * name share the unit (or LaunchAgent) name, and acting on it from this home would take the other node's service.
 */
export class ServiceOtherHomeError extends GitbusError {
  readonly code = 'SERVICE_OTHER_HOME';
  constructor(opts: { action: 'install' | 'uninstall'; name: string; file: string; node: string; home: string; otherHome: string; fix: string }) {
    super(
      `${opts.name} (${opts.file}) runs the watcher of another home, ${opts.otherHome}, whose node is also named "${opts.node}"; ${opts.action === 'install' ? 'installing' : 'removing'} it from ${opts.home} would take that node's service`,
      opts.fix,
      { action: opts.action, name: opts.name, file: opts.file, node: opts.node, home: opts.home, otherHome: opts.otherHome },
    );
  }
}

/**
 * `gitbus service install` while another watcher (`gitbus watch` in a terminal, under nohup or another supervisor)
 * holds the home: the service's watcher would be refused the home (WATCHER_RUNNING) and restarted by its manager
 * over and over, while the one the person forgot about keeps the work.
 */
export class ServiceWatcherRunningError extends GitbusError {
  readonly code = 'SERVICE_WATCHER_RUNNING';
  constructor(opts: { home: string; name: string; pid: number; since: string; how: string; installAgain: string }) {
    super(
      `a watcher already runs for ${opts.home}: pid ${opts.pid}, since ${opts.since} (${opts.how}), and it is not ${opts.name}; the service's watcher could not take the home while it runs, so nothing was installed`,
      `one watcher per home: stop that one first (Ctrl-C in its terminal, or kill ${opts.pid}: it lets its runs finish within its grace period and gives back what it could not finish), then run "${opts.installAgain}" again, and the service takes its work over`,
      { home: opts.home, name: opts.name, pid: opts.pid, since: opts.since, how: opts.how },
    );
  }
}
