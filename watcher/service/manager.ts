import type { CommandResult } from './commands.js';
import type { ServiceState, ServiceTarget } from './service.js';

export function firstLine(text: string): string {
  return text.trim().split('\n')[0]?.trim() ?? '';
}

export function describeFailure(r: CommandResult): string {
  return r.failure ?? (firstLine(r.stderr) || firstLine(r.stdout) || `exit ${r.code}`);
}

/** What one service manager does; both implementations drive their program through `ServiceCommands`. */
export interface Manager {
  /** null when the manager can be reached, else why not. */
  probe(): Promise<string | null>;
  state(t: ServiceTarget): Promise<ServiceState>;
  /** Loads (and starts) the service from its file; restarts it when it was running. */
  load(t: ServiceTarget, before: ServiceState): Promise<void>;
  /** Stops and unloads it; true when it was loaded. */
  unload(t: ServiceTarget, before: ServiceState): Promise<boolean>;
  /** The commands a person runs to load it by hand. */
  loadCommands(t: ServiceTarget): string[];
  unloadCommands(t: ServiceTarget): string[];
  unavailableFix(t: ServiceTarget): string;
  label: string;
}

/** A word of a command printed for a person to copy. */
export { shellWord as shellQuote } from '../../bus/project/shell-word.js';
