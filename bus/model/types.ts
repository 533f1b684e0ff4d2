import type { FileProblem } from '../../schemas/errors.js';

/** A file in one commit of main: its repo-relative path and blob oid. */
export interface FileRef {
  path: string;
  oid: string;
  /**
   * Set when the entry at this bus file's path is not a regular file (a folder, a link, a submodule): it takes the
   * path as an unreadable file does, so that no writer commits over it (which would delete what it holds), and is
   * never read (`oid` is then not a blob's). The problem is the one lint reports for it.
   */
  notAFile?: FileProblem;
}

/** Every live file that belongs to one task id, found from file names alone (no parsing). */
export interface TaskFiles {
  id: string;
  handoff?: FileRef;
  claims: Map<number, FileRef>;
  releases: Map<number, FileRef>;
  cancel?: FileRef;
  response?: FileRef;
  /**
   * Deliveries by attempt (docs/PROTOCOL.md §3a, "A push that lands later"): the holder of an attempt saying that the
   * project remote took its branch after its response went out saying it had not. Absent when there are none (most
   * tasks), which is also how files indexed by a gitbus before deliveries read.
   */
  deliveries?: Map<number, FileRef>;
  /**
   * The highest attempt whose claim file exists, forged ones included (docs/PROTOCOL.md §12, "Files a node
   * writes"): a forged claim is ignored but its path is taken, so the next claim goes past it. Absent: `claims`.
   */
  takenAttempt?: number;
}

/** A claim, release, response, delivery or node card this node ignores: not written by the node it names. */
export interface ForgedFile {
  path: string;
  kind: 'claim' | 'release' | 'response' | 'delivery' | 'node';
  /** The task it belongs to (not for a node card). */
  id?: string;
  /** The node it names, when it parses. */
  node: string | null;
  reason: string;
  fix: string;
}

/**
 * A bus setting this node takes from the trust version it enforces although gitbus.yaml says otherwise
 * (docs/PROTOCOL.md §12, "Settings that decide reclaims"): what gitbus.yaml says (null: it does not set the key, or
 * cannot be read, so the default), and what the version says, which this node uses.
 */
export interface SettingOverride {
  key: 'lease' | 'heartbeat' | 'maxAttempts';
  /** gitbus.yaml's value as written; null when it does not set it (then `busEffective` is the default). */
  bus: string | number | null;
  /** What gitbus.yaml amounts to, as written or the default: `1s`, `99`. */
  busEffective: string | number;
  trusted: string | number;
  version: number;
}

export interface TreeIndex {
  commit: string;
  tasks: Map<string, TaskFiles>;
  nodes: Map<string, FileRef>;
  settings?: FileRef;
  /** Names that break the layout rules (wrong pattern, symlinks, subfolders...). */
  problems: FileProblem[];
}

export type FinalState = 'succeeded' | 'failed' | 'cancelled' | 'timed-out';
export type TaskState = 'pending' | 'blocked' | 'claimed' | 'cancelling' | FinalState | 'invalid' | 'unsupported' | 'scheduled';

/** A task as this node shows it: its state on the bus, or `queued` while its dispatch waits in this node's queue (bus/queue.ts). */
export type ShownState = TaskState | 'queued';

export const FINAL_STATES: readonly TaskState[] = ['succeeded', 'failed', 'cancelled', 'timed-out'];

export function isFinal(state: ShownState): state is FinalState {
  return (FINAL_STATES as readonly ShownState[]).includes(state);
}
